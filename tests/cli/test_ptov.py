"""ptov: physical to virtual over every process, checked against pagemap,
kpageflags and kpagecount read here."""

import mstest
from mstest import Fixture, memscope, memscope_json

NOBODY = "65534"  # nobody/nogroup, by number for setpriv
KPF_BUDDY = 1 << 10
KPF_ZERO_PAGE = 1 << 24


def paddr_of(pid, vaddr):
    e = mstest.pagemap(pid, vaddr, 1)[0]
    assert e & mstest.PM_PRESENT, f"{vaddr:#x} not present in {pid}"
    pfn = e & mstest.PFN_MASK
    assert pfn, "PFNs are hidden: not root?"
    return pfn * mstest.PAGE + vaddr % mstest.PAGE


def bracketed(truth, run, tries=10):
    """run(truth()) between two reads of the truth, again while they differ:
    the kernel moves pages to other frames at any moment (compaction for
    other processes' huge pages, khugepaged), so a physical address read
    before memscope ran is the right one only if it is still so after.
    Returns (truth, run's result)."""
    for _ in range(tries):
        before = truth()
        result = run(before)
        if truth() == before:
            return before, result
    raise AssertionError(f"the page kept moving: {tries} tries")


def check_mapped(found, paddr):
    """The mappings listed map the page, by pagemap read now. Other people's
    processes exec and exit meanwhile: a few may have changed since."""
    wrong = []
    for pid, v in found:
        try:
            e = mstest.pagemap(pid, v, 1)[0]
        except OSError:
            continue  # gone meanwhile
        if e & mstest.PFN_MASK != paddr // mstest.PAGE:
            wrong.append((pid, hex(v)))
    assert len(wrong) <= max(2, len(found) // 10), wrong


def mappings(doc):
    return sorted((m["pid"], int(m["virtual"], 16)) for m in doc["mappings"])


def test_ptov_finds_exactly_the_fixture_page():
    mstest.require_root()
    with Fixture("memfix") as fx:
        vaddr = fx["anon_written"] + 7 * mstest.PAGE

        def run(paddr):
            pfn = paddr // mstest.PAGE
            return (memscope_json("ptov", hex(paddr), check=False),
                    mstest.kpageflags(pfn), mstest.kpagecount(pfn))

        paddr, (doc, flags, count) = bracketed(lambda: paddr_of(fx.pid, vaddr), run)
        assert mappings(doc) == [(fx.pid, vaddr)], doc["mappings"]
        pfn = paddr // mstest.PAGE
        assert int(doc["pfn"], 16) == pfn
        assert int(doc["kpageflags"], 16) & ~0xfff == flags & ~0xfff
        assert doc["mapcount"] == count == 1
        assert "anon" in doc["flags"] and doc["found"] == 1 and doc["stopped_early"]
        m = doc["mappings"][0]
        assert m["comm"] == "memfix" and m["perms"] == "rw-p" and m["exclusive"]
        # an address inside the page: the virtual address has the same offset
        paddr, doc = bracketed(lambda: paddr_of(fx.pid, vaddr),
                               lambda p: memscope_json("ptov", hex(p + 0x123), check=False))
        assert mappings(doc) == [(fx.pid, vaddr + 0x123)]
        # the text form
        paddr, out = bracketed(lambda: paddr_of(fx.pid, vaddr),
                               lambda p: memscope("ptov", hex(p), check=False).stdout)
        pfn = paddr // mstest.PAGE
        lines = out.splitlines()
        assert lines[0].split() == ["PHYSICAL", "PFN", "MAPCOUNT", "FLAGS"]
        assert lines[1].split()[:3] == [f"{paddr:x}", f"{pfn:x}", "1"]
        row = lines[-1].split()
        assert row[:4] == [str(fx.pid), "memfix", f"{vaddr:x}", "rw-p"], out
        mstest.assert_running_untraced(fx.pid)


def test_ptov_copy_on_write_page_after_fork():
    mstest.require_root()
    with Fixture("bigmem", 8) as fx:
        # written before the fork: parent and child share it until one writes
        vaddr = fx["touched"] + 9 * mstest.PAGE
        (paddr, child_paddr), (doc, count) = bracketed(
            lambda: (paddr_of(fx.pid, vaddr), paddr_of(fx["child_pid"], vaddr)),
            lambda p: (memscope_json("ptov", hex(p[0]), check=False),
                       mstest.kpagecount(p[0] // mstest.PAGE)))
        assert child_paddr == paddr
        assert mappings(doc) == sorted([(fx.pid, vaddr), (fx["child_pid"], vaddr)])
        assert doc["mapcount"] == count == 2
        assert all(m["perms"] == "rw-p" and not m["exclusive"] for m in doc["mappings"])


def test_ptov_shared_page_lists_both_processes():
    mstest.require_root()
    with Fixture("bigmem", 8) as fx:
        shared = fx["shared"]
        (paddr, child_paddr), (doc, count) = bracketed(
            lambda: (paddr_of(fx.pid, shared), paddr_of(fx["child_pid"], shared)),
            lambda p: (memscope_json("ptov", hex(p[0]), check=False),
                       mstest.kpagecount(p[0] // mstest.PAGE)))
        assert child_paddr == paddr  # the fixture's claim, checked
        assert mappings(doc) == sorted([(fx.pid, shared), (fx["child_pid"], shared)])
        assert doc["mapcount"] == count == 2
        assert all(m["perms"] == "rw-s" and not m["exclusive"] for m in doc["mappings"])


def test_ptov_zero_page_includes_the_fixture_addresses():
    mstest.require_root()
    with Fixture("memfix") as fx:
        base = fx["anon_read"]
        paddr = paddr_of(fx.pid, base)
        if not mstest.kpageflags(paddr // mstest.PAGE) & KPF_ZERO_PAGE:
            raise mstest.Skip("read-only anonymous memory is not the zero page here")
        doc = memscope_json("ptov", hex(paddr), check=False)
        assert "zero_page" in doc["flags"]
        mine = [v for p, v in mappings(doc) if p == fx.pid]
        want = [base + i * mstest.PAGE for i in range(16)]
        assert set(want) <= set(mine), (len(mine), hex(base))
        # others write over their zero-page mappings at any time (tests run
        # alongside): the fixture's, which stay, are checked
        check_mapped([(p, v) for p, v in mappings(doc) if p == fx.pid], paddr)


def test_ptov_page_cache_page_of_a_shared_library():
    mstest.require_root()
    with Fixture("memfix") as fx:
        text = next(m for m in mstest.maps(fx.pid)
                    if "libc" in m[4] and m[2].startswith("r-x"))
        vaddr = text[0]
        paddr, doc = bracketed(lambda: paddr_of(fx.pid, vaddr),
                               lambda p: memscope_json("ptov", hex(p), check=False))
        assert "anon" not in doc["flags"]
        found = mappings(doc)
        assert (fx.pid, vaddr) in found, (hex(vaddr), found[:10])
        check_mapped(found, paddr)
        assert all(m["name"] and "libc" in m["name"] for m in doc["mappings"])


def test_ptov_describes_a_free_page():
    mstest.require_root()
    # find free pages by kpageflags; they may be taken before ptov looks
    with open("/proc/kpageflags", "rb") as f:
        data = f.read(8 * 65536 * 4)
    free = [i for i in range(0, len(data) // 8)
            if int.from_bytes(data[8 * i:8 * i + 8], "little") & KPF_BUDDY][-20:]
    assert free, "no free page in the first 1 GiB"
    for pfn in free:
        doc = memscope_json("ptov", hex(pfn * mstest.PAGE), check=False)
        if "buddy" not in doc["flags"]:
            continue
        assert doc["mappings"] == [] and doc["found"] == 0
        assert "free" in doc["what"]
        out = memscope("ptov", hex(pfn * mstest.PAGE), check=False).stdout
        assert "(not mapped by any process: free (in the buddy allocator))" in out, out
        return
    raise mstest.Skip("every free page was taken before ptov looked")


def test_ptov_several_addresses_in_one_json_document():
    mstest.require_root()
    with Fixture("memfix") as fx:
        base = fx["anon_written"]
        _, doc = bracketed(
            lambda: (paddr_of(fx.pid, base), paddr_of(fx.pid, base + mstest.PAGE)),
            lambda p: memscope_json("ptov", hex(p[0]), hex(p[1]), check=False))
        assert isinstance(doc, list) and len(doc) == 2
        assert mappings(doc[0]) == [(fx.pid, base)]
        assert mappings(doc[1]) == [(fx.pid, base + mstest.PAGE)]


def test_ptov_bad_input_and_no_root():
    p = memscope("ptov", "fffffffffffff000", check=False)
    if mstest.IS_ROOT:
        assert p.returncode == 2, p
        assert "beyond the end of physical memory" in p.stderr, p.stderr
    for args, msg in (((), "a physical address is needed"),
                      (("xyz",), "invalid physical address: xyz"),
                      (("--bogus", "1000"), "invalid option")):
        p = memscope("ptov", *args, check=False)
        assert p.returncode in (64, 2), p
        if mstest.IS_ROOT:
            assert p.returncode == 64 and msg in p.stderr, (args, p.stderr)
    if not mstest.IS_ROOT:
        raise mstest.Skip("the rest needs root to drop it")
    p = memscope("ptov", "1000", user=NOBODY, check=False)
    assert p.returncode == 2
    assert p.stderr.startswith("memscope: ptov: needs root (CAP_SYS_ADMIN)"), p.stderr


if __name__ == "__main__":
    mstest.main()
