# exclusive: these tests add a swap file, switch KSM on and reserve a huge
# page, machine-wide, and put everything back as it was.
"""vm and vtop on swapped and KSM-merged pages, against pagemap, kpageflags,
/proc/swaps and smaps read here."""
import os
import re
import subprocess
import time

import mstest
import pagetruth as pt
from mstest import PAGE, PFN_MASK, PM_SWAP, Fixture, memscope, memscope_json

KSM = "/sys/kernel/mm/ksm/"


def read(path):
    with open(path) as f:
        return f.read().strip()


def write(path, value):
    with open(path, "w") as f:
        f.write(str(value))


def test_swapped_pages():
    mstest.require_root()
    path = f"/tmp/memscope-test-swap-{os.getpid()}"
    on = False
    try:
        subprocess.run(["dd", "if=/dev/zero", f"of={path}", "bs=1M", "count=32"], check=True,
                       capture_output=True)
        os.chmod(path, 0o600)
        subprocess.run(["mkswap", path], check=True, capture_output=True)
        subprocess.run(["swapon", path], check=True, capture_output=True)
        on = True
        with Fixture("memfix") as fx:
            fx.send("pageout\n")
            assert fx.readline() == {"pageout": 0}
            entries = mstest.pagemap(fx.pid, fx["swap"], 16)
            swapped = [i for i, e in enumerate(entries) if e & PM_SWAP]
            if not swapped:
                raise mstest.Skip("MADV_PAGEOUT swapped nothing out")
            areas = pt.swaps()
            doc = pt.check_pages(fx.pid)
            items = {int(it["vaddr"], 16): it for m in doc["mappings"] for it in m["pages"]}
            for i in swapped:
                va = fx["swap"] + i * PAGE
                e = entries[i]
                it = items[va]
                assert it["state"] == "swap"
                assert it["swap_type"] == e & 0x1f and it["swap_offset"] == (e & PFN_MASK) >> 5
                if areas == [path]:
                    assert it["device"] == path
            # text: crash's SWAP line
            out = memscope("vm", "-p", fx.pid).stdout
            va = fx["swap"] + swapped[0] * PAGE
            off = (entries[swapped[0]] & PFN_MASK) >> 5
            if areas == [path]:
                assert f"{va:x}  SWAP: {path}  OFFSET: {off}\n" in out, out
            # runs of swap slots in --ranges
            rdoc = memscope_json("vm", "-p", "--ranges", fx.pid)
            runs = [r for m in rdoc["mappings"] for r in m["pages"] if r["state"] == "swap"]
            assert sum(r["pages"] for r in runs) >= len(swapped)
            # vtop
            d = memscope_json("vtop", "-c", fx.pid, f"{va:x}")[0]
            assert d["state"] == "swap" and d["pagemap_bits"]["swapped"]
            assert d["swap"]["offset"] == off and d["swap"]["type"] == entries[swapped[0]] & 0x1f
            text = memscope("vtop", "-c", fx.pid, f"{va:x}").stdout
            if areas == [path]:
                assert f"{va:x}  SWAP: {path}  OFFSET: {off}\n" in text
            # summary: the swapped pages of the mapping
            s = memscope_json("vm", "--summary", fx.pid)
            m = next(m for m in s["mappings"]
                     if int(m["start"], 16) <= fx["swap"] < int(m["end"], 16))
            vma = next(v for v in pt.smaps(fx.pid) if v["start"] == int(m["start"], 16))
            want = pt.summary_truth(fx.pid, vma)
            assert m["pages"]["swap"] == want["swap"] >= len(swapped), (m, want)
            assert m["pages"] == want
            assert want["swap"] * PAGE == vma["fields"]["Swap"]
            mstest.assert_running_untraced(fx.pid)
    finally:
        if on:
            subprocess.run(["swapoff", path], capture_output=True)
        if os.path.exists(path):
            os.unlink(path)


def test_ksm_pages():
    mstest.require_root()
    if not os.path.exists(KSM + "run"):
        raise mstest.Skip("no KSM in this kernel")
    saved = {k: read(KSM + k) for k in ("run", "pages_to_scan", "sleep_millisecs")}
    try:
        with Fixture("memfix") as fx:
            write(KSM + "pages_to_scan", 1000)
            write(KSM + "sleep_millisecs", 10)
            write(KSM + "run", 1)
            merged = []
            for _ in range(200):
                entries = mstest.pagemap(fx.pid, fx["ksm"], 32)
                merged = [i for i, e in enumerate(entries) if e & mstest.PM_PRESENT and
                          pt.kpf_has(pt.kpageflags(e & PFN_MASK)[0], "KSM")]
                if len(merged) == 32:
                    break
                time.sleep(0.05)
            write(KSM + "run", saved["run"])
            if not merged:
                raise mstest.Skip("KSM merged nothing in 10 s")
            doc = pt.check_pages(fx.pid)
            marks = {va: mk for m in doc["mappings"] for va, st, pa, mk, it, k in pt.expand(m)}
            for i in merged:
                assert "ksm" in marks[fx["ksm"] + i * PAGE]
            # the summary: per page (root) and as smaps counts them (the unprivileged way)
            s = memscope_json("vm", "--summary", fx.pid)
            m = next(m for m in s["mappings"]
                     if int(m["start"], 16) <= fx["ksm"] < int(m["end"], 16))
            vma = next(v for v in pt.smaps(fx.pid) if v["start"] == int(m["start"], 16))
            want = pt.summary_truth(fx.pid, vma)
            assert m["pages"]["ksm"] == want["ksm"] >= len(merged), (m, want)
            assert vma["fields"]["KSM"] == want["ksm"] * PAGE
            va = fx["ksm"] + merged[0] * PAGE
            d = memscope_json("vtop", "-c", fx.pid, f"{va:x}")[0]
            assert d["ksm"] is True and "KSM" in d["kpageflags_names"]
            assert re.search(r"KSM: yes", memscope("vtop", "-c", fx.pid, f"{va:x}").stdout)
            mstest.assert_running_untraced(fx.pid)
    finally:
        write(KSM + "run", saved["run"])
        write(KSM + "sleep_millisecs", saved["sleep_millisecs"])
        write(KSM + "pages_to_scan", saved["pages_to_scan"])


def test_hugetlb_pages():
    mstest.require_root()
    knob = "/proc/sys/vm/nr_hugepages"
    saved = read(knob)
    try:
        write(knob, int(saved) + 1)
        with Fixture("memfix", "--hugetlb", 1) as fx:
            base = fx["hugetlb"]
            if not base:
                raise mstest.Skip("no 2 MiB huge page could be reserved")
            e = mstest.pagemap(fx.pid, base, 1)[0]
            assert pt.kpf_has(pt.kpageflags(e & PFN_MASK)[0], "HUGE")
            for env in ({}, {"MEMSCOPE_NO_PAGEMAP_SCAN": "1"}):
                doc = pt.check_pages(fx.pid, env=env)
                marks = {va: mk for m in doc["mappings"] for va, st, pa, mk, it, k in
                         pt.expand(m)}
                assert all(marks[base + i * PAGE] == {"hugetlb"} for i in range(512)), \
                    marks[base]
            text = memscope("vm", "-p", "--ranges", fx.pid).stdout
            head = (e & PFN_MASK) * PAGE
            assert f"{base:x}-{base + (2 << 20):x}       512  {head:x}-{head + (2 << 20):x}" \
                "  hugetlb\n" in text, text
            d = memscope_json("vtop", "-c", fx.pid, f"{base + 5 * PAGE:x}")[0]
            assert d["compound"]["pages"] == 512 and d["compound"]["index"] == 5
            out = memscope("vtop", "-c", fx.pid, f"{base + 5 * PAGE:x}").stdout
            assert "tail page of a 2.0 MiB hugetlb page" in out, out
            mstest.assert_running_untraced(fx.pid)
    finally:
        write(knob, saved)


if __name__ == "__main__":
    mstest.main()
