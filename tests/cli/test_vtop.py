"""vtop: one address to its physical page and everything the kernel says about
it, checked against pagemap, kpageflags and kpagecount read here."""
import re

import mstest
import pagetruth as pt
from mstest import PAGE, PFN_MASK, Fixture, memscope, memscope_json

NOBODY = "nobody"


def vtop_json(pid, *addrs, **kw):
    doc = memscope_json("vtop", "-c", pid, *[f"{a:x}" for a in addrs], **kw)
    assert len(doc) == len(addrs)
    return doc


def entry_of(pid, addr):
    return mstest.pagemap(pid, addr, 1)[0]


def check_present(pid, addr, d):
    """A present page's translation and description against the kernel's files."""
    e = entry_of(pid, addr)
    assert e & mstest.PM_PRESENT, f"{addr:x} not present"
    pfn = e & PFN_MASK
    assert d["state"] == "present"
    assert int(d["pagemap"], 16) == e
    assert int(d["pfn"], 16) == pfn
    assert int(d["paddr"], 16) == pfn * PAGE + addr % PAGE
    bits = d["pagemap_bits"]
    assert bits["present"] and not bits["swapped"]
    assert bits["exclusive"] == bool(e & mstest.PM_EXCLUSIVE)
    assert bits["file"] == bool(e & mstest.PM_FILE)
    assert bits["soft-dirty"] == bool(e & mstest.PM_SOFT_DIRTY)
    flags = pt.kpageflags(pfn)[0]
    assert int(d["kpageflags"], 16) == flags
    assert d["kpageflags_names"] == pt.kpf_names(flags)
    assert d["map_count"] == pt.kpagecount(pfn)[0]
    assert d["zero_page"] == pt.kpf_has(flags, "ZERO_PAGE")
    return e, flags


def compound_truth(pfn):
    """The compound page around pfn, found by walking kpageflags here."""
    head = pfn
    while not pt.kpf_has(pt.kpageflags(head)[0], "COMPOUND_HEAD"):
        head -= 1
    n = 1
    while True:
        f = pt.kpageflags(head + n)[0]
        if not pt.kpf_has(f, "COMPOUND_TAIL") or pt.kpf_has(f, "COMPOUND_HEAD"):
            break
        n += 1
    return head, n


def test_vtop_anon_page():
    mstest.require_root()
    with Fixture("memfix") as fx:
        addr = fx["anon_written"] + 3 * PAGE + 0x123  # unaligned: the offset is kept
        d = vtop_json(fx.pid, addr)[0]
        e, flags = check_present(fx.pid, addr, d)
        assert pt.kpf_has(flags, "ANON") and d["thp"] is False and d["compound"] is None
        vma = next(v for v in pt.smaps(fx.pid) if v["start"] <= addr < v["end"])
        assert int(d["mapping"]["start"], 16) == vma["start"]
        assert int(d["mapping"]["end"], 16) == vma["end"]
        assert int(d["mapping"]["flags"], 16) == pt.vmflags_value(vma["vmflags"])
        # the text, crash's way
        out = memscope("-p", fx.pid, "vtop", f"{addr:x}").stdout
        lines = out.splitlines()
        assert lines[0] == "VIRTUAL     PHYSICAL"
        assert lines[1] == f"{addr:x}  {(e & PFN_MASK) * PAGE + 0x123:x}"
        assert re.search(rf"PAGEMAP: {e:016x}  present", out)
        assert re.search(rf"KPAGEFLAGS: {flags:016x}  " + " ".join(pt.kpf_names(flags)), out)
        assert f"MAP COUNT: {pt.kpagecount(e & PFN_MASK)[0]}" in out
        mstest.assert_running_untraced(fx.pid)


def test_vtop_zero_page_and_shared_page():
    mstest.require_root()
    with Fixture("memfix") as fx:
        z, s = vtop_json(fx.pid, fx["anon_read"], fx["shared"])
        check_present(fx.pid, fx["anon_read"], z)
        assert z["zero_page"] is True
        check_present(fx.pid, fx["shared"], s)
        assert s["map_count"] == 2  # the fixture and its child
        assert s["pagemap_bits"]["exclusive"] is False and s["pagemap_bits"]["file"] is True
        out = memscope("vtop", "-c", fx.pid, f"{fx['anon_read']:x}").stdout
        assert "ZERO PAGE: yes" in out


def test_vtop_thp_head_tail_and_frame():
    mstest.require_root()
    with Fixture("memfix") as fx:
        thp = fx["thp"]
        e = entry_of(fx.pid, thp)
        if not pt.kpf_has(pt.kpageflags(e & PFN_MASK)[0], "THP"):
            raise mstest.Skip("no THP could be allocated")
        addrs = [thp, thp + 7 * PAGE + 5,  # PMD-mapped THP: head, a tail
                 thp + (2 << 20) + PAGE,  # the huge zero page
                 thp + (4 << 20) + 6 * PAGE]  # THP split by mprotect: mapped by PTEs
        docs = vtop_json(fx.pid, *addrs)
        for addr, d in zip(addrs, docs):
            e, flags = check_present(fx.pid, addr, d)
            pfn = e & PFN_MASK
            head, n = compound_truth(pfn)
            c = d["compound"]
            assert int(c["head_pfn"], 16) == head and c["pages"] == n
            assert c["head"] == (pfn == head) and c["index"] == pfn - head
            assert int(c["frame_start"], 16) == head * PAGE
            assert int(c["frame_end"], 16) == (head + n) * PAGE
        assert docs[0]["compound"]["head"] and docs[0]["thp"] and docs[0]["pmd_mapped"]
        assert not docs[1]["compound"]["head"] and docs[1]["compound"]["pages"] == 512
        assert docs[2]["zero_page"] and not docs[2]["thp"]
        if docs[3]["compound"]["pages"] == 512:
            assert docs[3]["thp"] and docs[3]["pmd_mapped"] is False
        out = memscope("vtop", "-c", fx.pid, f"{thp + PAGE:x}").stdout
        head = docs[0]["compound"]["head_pfn"]
        assert "THP: tail page of a 2.0 MiB THP, mapped by a PMD" in out
        assert re.search(rf"FRAME: {int(head, 16) * PAGE:x}-{int(head, 16) * PAGE + (2 << 20):x}",
                         out)


def test_vtop_absent_pages_as_crash_says():
    with Fixture("memfix") as fx:
        f = fx["file"] + 40 * PAGE + 0x10  # evicted file page
        u = fx["anon_untouched"] + 0x800
        n = fx["prot_none"]
        docs = vtop_json(fx.pid, f, u, n)
        assert [d["state"] for d in docs] == ["file", "not_mapped", "not_accessible"]
        assert docs[0]["mapping"]["file"] == fx["file_path"]
        assert int(docs[0]["mapping"]["file_offset"], 16) == 40 * PAGE + 0x10
        assert all(d["paddr"] is None and int(d["pagemap"], 16) == 0 for d in docs)
        out = memscope("-p", fx.pid, "vtop", f"{f:x}", f"{u:x}", f"{n:x}").stdout
        assert f"{f:x}  FILE: {fx['file_path']}  OFFSET: {40 * PAGE + 0x10:x}\n" in out
        assert f"{u:x}  (not mapped)\n" in out
        assert f"{n:x}  (not accessible)\n" in out
        if fx["guard_ok"]:
            g = fx["guard"] + PAGE + 8
            d = vtop_json(fx.pid, g)[0]
            assert d["state"] == "not_accessible" and d["pagemap_bits"]["guard"]
            assert int(d["pagemap"], 16) == entry_of(fx.pid, g)
            assert f"{g:x}  (not accessible)\n" in memscope("vtop", "-c", fx.pid, f"{g:x}").stdout
        mstest.assert_running_untraced(fx.pid)


def test_vtop_crash_spellings():
    with Fixture("memfix") as fx:
        a = f"{fx['anon_written']:x}"
        one = memscope("vtop", "-c", fx.pid, a).stdout
        assert memscope("-p", fx.pid, "vtop", a).stdout == one
        assert memscope("-p", fx.pid, "vtop", "-u", "0x" + a).stdout == one
        assert memscope("vtop", "-c", fx.pid, "-u", a).stdout == one


def test_vtop_bad_addresses():
    with Fixture("memfix") as fx:
        p = memscope("vtop", "-c", fx.pid, "1000", check=False)
        assert p.returncode == 1
        assert p.stderr == f"memscope: vtop: 0x1000 is not mapped in process {fx.pid}\n"
        p = memscope("vtop", "-c", fx.pid, "ffffffff81000000", check=False)
        assert p.returncode == 64 and "is a kernel address" in p.stderr, p.stderr
        p = memscope("vtop", "-c", fx.pid, "ffffffffff600000", check=False)
        assert p.returncode == 64 and "[vsyscall]" in p.stderr
        p = memscope("vtop", "-c", fx.pid, "900000000000", check=False)
        assert p.returncode == 64 and "beyond the user address space" in p.stderr, p.stderr
        p = memscope("vtop", "-c", fx.pid, "xyz", check=False)
        assert p.returncode == 64 and "invalid address 'xyz'" in p.stderr
        p = memscope("vtop", "-c", fx.pid, check=False)
        assert p.returncode == 64 and "needs an address" in p.stderr
        p = memscope("vtop", "-k", "-c", fx.pid, "1000", check=False)
        assert p.returncode == 64
        p = memscope("vtop", "1000", check=False)
        assert p.returncode == 64 and "no target" in p.stderr
        # a good address among bad ones is still translated
        p = memscope("vtop", "-c", fx.pid, "1000", f"{fx['anon_written']:x}", check=False)
        assert p.returncode == 1 and "VIRTUAL     PHYSICAL" in p.stdout
        mstest.assert_running_untraced(fx.pid)


def test_vtop_unprivileged():
    with Fixture("memfix", user=NOBODY) as fx:
        addrs = [fx["anon_written"], fx["anon_read"], fx["thp"]]
        docs = vtop_json(fx.pid, *addrs, user=NOBODY)
        for d in docs:
            assert d["state"] == "present"
            assert d["paddr"] is None and d["pfn"] is None
            assert d["kpageflags"] is None and d["map_count"] is None
            assert int(d["pagemap"], 16) & PFN_MASK == 0
        assert docs[1]["zero_page"] is True
        if mstest.IS_ROOT:
            e = entry_of(fx.pid, fx["thp"])
            if pt.kpf_has(pt.kpageflags(e & PFN_MASK)[0], "THP"):
                assert docs[2]["thp"] and docs[2]["pmd_mapped"]
        out = memscope("vtop", "-c", fx.pid, f"{fx['anon_written']:x}", user=NOBODY).stdout
        assert "(present: the physical address needs CAP_SYS_ADMIN)" in out
        assert "KPAGEFLAGS: (needs CAP_SYS_ADMIN)" in out
        assert not re.search(r"^[0-9a-f]+  [0-9a-f]+$", out, re.M), out
        mstest.assert_running_untraced(fx.pid)


if __name__ == "__main__":
    mstest.main()
