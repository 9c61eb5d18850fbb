"""demo firsttouch: what it says about the zero page checked against
/proc/kpageflags read here, and the steps against the kernel's rules."""
import re

import mstest
from mstest import memscope, memscope_json

KPF_ZERO_PAGE = 24
KPF_ANON = 12


def steps(doc):
    return {s["step"]: s for s in doc["steps"]}


def test_first_touch_as_root():
    mstest.require_root()
    doc = memscope_json("demo", "firsttouch")
    page = doc["page_size"]
    assert doc["pfn_visible"] is True
    s = steps(doc)
    assert list(s) == ["before", "mmap", "read", "write", "write-untouched", "munmap"]
    m = s["mmap"]
    assert [p["present"] for p in m["pages"]] == [False, False]
    assert m["mapping_size"] == doc["pages"] * page
    assert m["mapping_charged"] is True and m["mapping_rss_bytes"] == 0
    assert m["rss_anon_bytes"] == s["before"]["rss_anon_bytes"]
    r = s["read"]["pages"][0]
    assert r["present"] and not r["exclusive"] and r["pfn"]
    # the page the read mapped is the kernel's zero page: ask kpageflags here
    assert mstest.kpageflags(r["pfn"]) >> KPF_ZERO_PAGE & 1
    assert doc["zero_pfn"] == r["pfn"]
    assert s["read"]["mapping_rss_bytes"] == 0
    assert s["read"]["rss_anon_bytes"] == s["mmap"]["rss_anon_bytes"]
    w = s["write"]["pages"][0]
    assert w["present"] and w["exclusive"] and w["pfn"] != r["pfn"]
    assert w["anon"] is True and w["zero_page"] is False
    assert s["write"]["mapping_rss_bytes"] == page
    assert s["write"]["rss_anon_bytes"] - s["read"]["rss_anon_bytes"] == page
    assert not s["write"]["pages"][1]["present"]
    u = s["write-untouched"]["pages"]
    assert u[1]["present"] and u[1]["exclusive"] and u[1]["pfn"] not in (r["pfn"], w["pfn"])
    assert u[0]["pfn"] == w["pfn"]  # the first page stays where it is
    assert s["write-untouched"]["mapping_rss_bytes"] == 2 * page
    assert s["munmap"]["mapped"] is False
    assert s["munmap"]["rss_anon_bytes"] == s["before"]["rss_anon_bytes"]


def test_first_touch_without_root():
    doc = memscope_json("demo", "firsttouch", "--pages", "4", user="65534")
    assert doc["pfn_visible"] is False and doc["zero_pfn"] is None
    s = steps(doc)
    assert s["read"]["pages"][0]["pfn"] is None  # hidden, never printed as 0
    assert s["read"]["pages"][0]["present"] and not s["read"]["pages"][0]["exclusive"]
    assert s["write"]["pages"][0]["exclusive"]
    assert s["mmap"]["mapping_size"] == 4 * doc["page_size"]
    text = memscope("demo", "firsttouch", user="65534").stdout
    assert "PFN hidden" in text and "pfn 0x0" not in text


def test_text():
    out = memscope("demo", "firsttouch").stdout
    for step in ("before mmap", "mmap", "read page 0", "write page 0", "write page 1", "munmap"):
        assert re.search(rf"^{step}\s", out, re.M), step
    assert "not present" in out and "Overcommit mode" in out
    if mstest.IS_ROOT:
        assert re.search(r"^read page 0\s+zero page, pfn 0x[0-9a-f]+", out, re.M)
        assert re.search(r"^write page 0\s+own page, pfn 0x[0-9a-f]+ excl", out, re.M)


def test_bad_input():
    for args, text in ((["demo"], "which demo"), (["demo", "nope"], "no demo 'nope'"),
                       (["demo", "firsttouch", "--pages", "1"], "--pages"),
                       (["demo", "firsttouch", "--pages", "x"], "--pages"),
                       (["demo", "firsttouch", "more"], "unexpected argument")):
        p = memscope(*args, check=False)
        assert p.returncode == 64, (args, p.returncode)
        assert text in p.stderr, (args, p.stderr)


if __name__ == "__main__":
    mstest.main()
