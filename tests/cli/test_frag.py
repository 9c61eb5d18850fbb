# exclusive: mounts debugfs (machine-wide) when it is not mounted, and unmounts it after.
"""frag against the kernel's own numbers: /sys/kernel/debug/extfrag, /proc/buddyinfo,
/proc/zoneinfo and /proc/pagetypeinfo read by the test, and real huge page allocations."""
import os
import re
import subprocess

import mstest
from mstest import memscope, memscope_json

DEBUGFS = "/sys/kernel/debug"
EXTFRAG = DEBUGFS + "/extfrag"


def read(path):
    with open(path) as f:
        return f.read()


def parse_rows(text):
    """{(node, zone): [tokens]} of buddyinfo-like lines."""
    rows = {}
    for line in text.splitlines():
        m = re.match(r"Node (\d+), zone\s+(\S+)\s+(.*)$", line)
        if m:
            rows[(int(m.group(1)), m.group(2))] = m.group(3).split()
    return rows


def debugfs_mounted():
    return any(line.split()[1:3] == [DEBUGFS, "debugfs"] for line in read("/proc/mounts").splitlines())


class Debugfs:
    """Mount debugfs for the test if it is not mounted; unmount only what we mounted."""

    def __enter__(self):
        self.mounted_here = False
        if not debugfs_mounted():
            subprocess.run(["mount", "-t", "debugfs", "none", DEBUGFS], check=True)
            self.mounted_here = True
        return self

    def __exit__(self, *exc):
        if self.mounted_here:
            subprocess.run(["umount", DEBUGFS], check=False)


def zones_of(doc):
    return {(z["node"], z["zone"]): z for z in doc["zones"]}


def test_indices_equal_debugfs():
    mstest.require_root()
    with Debugfs():
        if not os.path.exists(EXTFRAG):
            raise mstest.Skip("this kernel has no debugfs extfrag")
        last = None
        for _ in range(20):
            u1, e1, b1 = read(EXTFRAG + "/unusable_index"), read(EXTFRAG + "/extfrag_index"), read("/proc/buddyinfo")
            doc = memscope_json("frag")
            u2, e2, b2 = read(EXTFRAG + "/unusable_index"), read(EXTFRAG + "/extfrag_index"), read("/proc/buddyinfo")
            if (u1, e1, b1) != (u2, e2, b2):
                continue  # the free lists moved while memscope ran: try again
            unusable, extfrag, buddy = parse_rows(u1), parse_rows(e1), parse_rows(b1)
            zones = zones_of(doc)
            assert set(zones) == set(buddy), (zones.keys(), buddy.keys())
            mismatch = []
            for key, z in zones.items():
                if z["unusable_index"] != unusable[key]:
                    mismatch.append((key, "unusable", z["unusable_index"], unusable[key]))
                if z["fragmentation_index"] != extfrag[key]:
                    mismatch.append((key, "extfrag", z["fragmentation_index"], extfrag[key]))
                if z["free_blocks"] != [int(x) for x in buddy[key]]:
                    mismatch.append((key, "buddyinfo", z["free_blocks"], buddy[key]))
            if not mismatch:
                assert doc["debugfs"]["available"] and doc["debugfs"]["matches"], doc["debugfs"]
                text = memscope("frag").stdout
                assert "digit for digit" in text
                return
            last = mismatch
        raise AssertionError(f"indices differ from debugfs in every attempt: {last}")


def test_zoneinfo_and_pagetypeinfo_fields():
    mstest.require_root()
    doc = memscope_json("frag")
    zoneinfo = read("/proc/zoneinfo")
    for key, z in zones_of(doc).items():
        block = re.search(r"Node %d, zone\s+%s\n(.*?)(?=\nNode |\Z)" % key, zoneinfo, re.S).group(1)
        for field in ("min", "low", "high", "spanned", "present"):
            m = re.search(r"^\s+%s\s+(\d+)$" % field, block, re.M)
            assert z[field] == int(m.group(1)), (key, field, z[field], m.group(1))
        prot = re.search(r"protection: \(([^)]*)\)", block).group(1)
        assert z["lowmem_reserve"] == [int(x) for x in prot.split(",")], key
    # pageblock counts per migrate type, as pagetypeinfo says (they rarely move)
    for _ in range(10):
        pti = read("/proc/pagetypeinfo")
        doc = memscope_json("frag")
        if read("/proc/pagetypeinfo").split("Number of blocks")[1] == pti.split("Number of blocks")[1]:
            break
    header = re.search(r"Number of blocks type\s+(.*)", pti).group(1).split()
    blocks = parse_rows(pti.split("Number of blocks type")[1])
    assert doc["pageblock_order"] == int(re.search(r"Page block order: (\d+)", pti).group(1))
    for key, z in zones_of(doc).items():
        got = {t["type"]: t["pageblocks"] for t in z["migrate_types"]}
        assert got == dict(zip(header, map(int, blocks[key]))), (key, got)


def test_free_memory_shown_beside_memfree():
    def memfree():
        return int(re.search(r"MemFree:\s+(\d+) kB", read("/proc/meminfo")).group(1)) * 1024

    def buddy():
        return sum(int(c) << o for row in parse_rows(read("/proc/buddyinfo")).values()
                   for o, c in enumerate(row)) * mstest.PAGE

    for _ in range(10):
        m1, b1 = memfree(), buddy()
        fm = memscope_json("frag")["free_memory"]
        m2, b2 = memfree(), buddy()
        # other processes allocate meanwhile: memscope's figures lie between the
        # test's readings before and after (with 16 MiB of slack)
        slack = 16 << 20
        if (min(m1, m2) - slack <= fm["memfree_bytes"] <= max(m1, m2) + slack
                and min(b1, b2) - slack <= fm["buddy_bytes"] <= max(b1, b2) + slack):
            break
    else:
        raise AssertionError((fm, m1, m2, b1, b2))
    assert fm["memfree_minus_buddy_bytes"] == fm["memfree_bytes"] - fm["buddy_bytes"]
    text = memscope("frag").stdout
    assert "on the buddy lists" in text and "MemFree" in text and "per-CPU lists" in text


def test_order_exit_status_and_real_huge_page():
    """frag --order 9 says yes, and a real THP fault right after gets a huge page."""
    thp = read("/sys/kernel/mm/transparent_hugepage/enabled")
    if "[never]" in thp:
        raise mstest.Skip("THP disabled")
    p = memscope("frag", "--order", "9", check=False)
    assert p.returncode in (0, 1), p.stderr
    if p.returncode != 0:
        raise mstest.Skip("no free order-9 block now; nothing to confirm")
    assert "succeeds now" in p.stdout
    code = (
        "import mmap,ctypes,re\n"
        "n=4<<20\n"
        "m=mmap.mmap(-1,n,flags=mmap.MAP_PRIVATE|mmap.MAP_ANONYMOUS)\n"
        "a=ctypes.addressof(ctypes.c_char.from_buffer(m))\n"
        "s=(a+(2<<20)-1)&~((2<<20)-1)\n"
        "libc=ctypes.CDLL(None)\n"
        "libc.madvise(ctypes.c_void_p(s),ctypes.c_size_t(2<<20),14)\n"  # MADV_HUGEPAGE
        "ctypes.memset(s,1,2<<20)\n"
        "t=open('/proc/self/smaps').read()\n"
        "print(sum(int(x) for x in re.findall(r'AnonHugePages:\\s+(\\d+)',t)))\n"
    )
    out = subprocess.run(["python3", "-c", code], capture_output=True, text=True, check=True)
    assert int(out.stdout.strip()) >= 2048, "the kernel did not give a huge page: " + out.stdout


def test_order_zero_and_largest_succeed():
    doc = memscope_json("frag", "--order", "0")
    assert doc["verdict"]["outcome"] == "succeeds"
    assert memscope("frag", "--order", "0").returncode == 0
    top = len(next(iter(parse_rows(read("/proc/buddyinfo")).values()))) - 1
    p = memscope("frag", "--order", top, check=False)
    # truth: some zone that user memory may use holds a free block of the top order
    has_top = any(int(row[top]) > 0 for (n, zone), row in parse_rows(read("/proc/buddyinfo")).items()
                  if zone not in ("DMA",))
    if has_top:
        assert p.returncode == 0, p.stdout
    else:
        assert p.returncode == 1, p.stdout


def test_bad_input():
    top = len(next(iter(parse_rows(read("/proc/buddyinfo")).values()))) - 1
    p = memscope("frag", "--order", top + 1, check=False)
    assert p.returncode == 64, p.stderr
    assert f"this kernel has orders 0 to {top}" in p.stderr
    for bad in ("-1", "abc", "9x"):
        p = memscope("frag", "--order", bad, check=False)
        assert p.returncode == 64 and "invalid order" in p.stderr, (bad, p.stderr)
    nodes = {n for n, _ in parse_rows(read("/proc/buddyinfo"))}
    p = memscope("frag", "--node", max(nodes) + 1, check=False)
    assert p.returncode == 64 and "unknown node" in p.stderr, p.stderr
    p = memscope("frag", "--bogus", check=False)
    assert p.returncode == 64


def test_without_root():
    doc = memscope_json("frag", user="65534")
    assert doc["pagetypeinfo"] is False
    assert "root" in doc["pagetypeinfo_missing"]
    assert doc["debugfs"]["available"] is False
    text = memscope("frag", user="65534").stdout
    assert "readable by root only" in text
    assert "no cross-check with the kernel" in text
    # the numbers that need no root are the same
    assert set(zones_of(doc)) == set(parse_rows(read("/proc/buddyinfo")))


def test_debugfs_absent_is_said():
    if debugfs_mounted():
        raise mstest.Skip("debugfs is mounted by someone else")
    p = memscope("frag")
    assert "debugfs is not mounted" in p.stdout
    assert p.returncode == 0


def test_node_filter():
    doc = memscope_json("frag", "--node", "0")
    assert doc["zones"] and all(z["node"] == 0 for z in doc["zones"])
    assert all(z["node"] == 0 for z in doc["verdict"]["zones"])


if __name__ == "__main__":
    mstest.main()
