# exclusive: runs memory compaction, which is machine-wide.
"""compact checked by what the kernel reports around it: the compact_* and pgmigrate_*
counters of /proc/vmstat and /proc/buddyinfo, read by the test before and after."""
import os
import re
import subprocess
import tempfile

import mstest
from mstest import Fixture, memscope, memscope_json


def vmstat():
    out = {}
    with open("/proc/vmstat") as f:
        for line in f:
            k, v = line.split()
            out[k] = int(v)
    return out


def buddyinfo():
    rows = {}
    with open("/proc/buddyinfo") as f:
        for line in f:
            m = re.match(r"Node (\d+), zone\s+(\S+)\s+(.*)$", line)
            rows[(int(m.group(1)), m.group(2))] = [int(x) for x in m.group(3).split()]
    return rows


def huge_blocks(rows, order=9):
    return sum(c << (o - order) for row in rows.values() for o, c in enumerate(row) if o >= order)


def test_compaction_moves_counters_and_free_lists():
    mstest.require_root()
    if not os.path.exists("/proc/sys/vm/compact_memory"):
        raise mstest.Skip("kernel without compaction")
    with Fixture("fragfix", 128) as fx:
        before_v, before_b = vmstat(), buddyinfo()
        doc = memscope_json("compact")
        after_v, after_b = vmstat(), buddyinfo()
        assert doc["trigger"] == "/proc/sys/vm/compact_memory"
        assert doc["seconds"] > 0
        # the kernel scanned and migrated: the test's own reading of vmstat
        moved = after_v["compact_migrate_scanned"] - before_v["compact_migrate_scanned"]
        assert moved > 0
        assert after_v["pgmigrate_success"] > before_v["pgmigrate_success"]
        c = doc["counters"]["compact_migrate_scanned"]
        assert 0 < c["delta"] <= moved, (c, moved)
        assert before_v["compact_migrate_scanned"] <= c["before"] <= c["after"] <= after_v["compact_migrate_scanned"]
        m = doc["counters"]["pgmigrate_success"]
        assert 0 < m["delta"] <= after_v["pgmigrate_success"] - before_v["pgmigrate_success"]
        # free lists: memscope's before/after bracket the test's own readings
        zones = {(z["node"], z["zone"]): z for z in doc["zones"]}
        assert set(zones) == set(after_b)
        for key in after_b:
            assert len(zones[key]["after"]["free_blocks"]) == len(after_b[key])
        # the stable zones did not move at all between the readings
        for key in after_b:
            if after_b[key] == before_b[key]:
                assert zones[key]["after"]["free_blocks"] == after_b[key], key
        # huge-page-sized blocks: memscope's count after is the test's, within what
        # other processes take or give back in between (other tests' fixtures
        # exit at any moment; a run saw 38 blocks move): 1% of them, or 16
        slack = max(16, huge_blocks(after_b) // 100)
        assert abs(doc["hpage_blocks_after"] - huge_blocks(after_b)) <= slack, \
            (doc["hpage_blocks_after"], huge_blocks(after_b))
        assert doc["hpage_blocks_gained"] == doc["hpage_blocks_after"] - doc["hpage_blocks_before"]
        # compaction migrated the fixture's pages; the fixture and its data are intact
        mstest.assert_running_untraced(fx.pid)
    assert fx.proc.returncode == 0, "the fixture's memory changed"


def test_kcompactd_model():
    mstest.require_root()
    doc = memscope_json("compact", "--node", "0")
    with open("/proc/sys/vm/compaction_proactiveness") as f:
        proactiveness = int(f.read())
    k = doc["kcompactd"][0]
    assert k["node"] == 0 and k["proactiveness"] == proactiveness
    # vm.rst: compaction starts above the high mark; the low mark is 100 - proactiveness
    assert k["wmark_low"] == max(100 - proactiveness, 5)
    assert k["wmark_high"] == min(k["wmark_low"] + 10, 100)
    assert 0 <= k["score"] <= 100
    assert k["would_compact"] == (proactiveness > 0 and k["score"] > k["wmark_high"]
                                  and not k.get("kswapd_running", False))
    assert "6.18" in doc["kcompactd_model"]
    assert doc["trigger"] == "/sys/devices/system/node/node0/compact"
    text = memscope("compact", "--node", "0").stdout
    assert "kcompactd" in text and "fragmentation score" in text


def test_svg_before_and_after():
    mstest.require_root()
    with tempfile.TemporaryDirectory() as d:
        a, b = os.path.join(d, "before.svg"), os.path.join(d, "after.svg")
        p = memscope("compact", "--svg-before", a, "--svg-after", b)
        for f in (a, b):
            subprocess.run(["xmllint", "--noout", f], check=True)
        with open(a) as f:
            assert "before compaction" in f.read()
        with open(b) as f:
            assert "after compaction" in f.read()
        assert "Wrote" in p.stdout


def test_without_root_and_bad_node():
    p = memscope("compact", user="65534", check=False)
    assert p.returncode == 2
    assert "needs root" in p.stderr and "sudo memscope compact" in p.stderr
    mstest.require_root()
    p = memscope("compact", "--node", "999", check=False)
    assert p.returncode == 64 and "unknown node 999" in p.stderr
    p = memscope("compact", "--node", "x", check=False)
    assert p.returncode == 64


if __name__ == "__main__":
    mstest.main()
