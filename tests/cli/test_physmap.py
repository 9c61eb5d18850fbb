# exclusive: compares a picture of all of RAM with kpageflags; other tests churn memory
"""physmap against /proc/kpageflags read by the test over the same PFN ranges, with
its own reading of the documented classification rules; the pictures are checked
by xmllint and pngcheck, and a fixture's own pages must show up where pagemap says."""
import array
import collections
import os
import re
import struct
import subprocess
import tempfile
import zlib

import mstest
from mstest import Fixture, memscope, memscope_json

# kpageflags bits, from the kernel's include/uapi/linux/kernel-page-flags.h
LRU, SLAB, BUDDY, MMAP, ANON, HUGE, NOPAGE, THP, PGTABLE, RESERVED = 5, 7, 10, 11, 12, 17, 20, 22, 26, 32


def category(flags):
    """The rule physmap documents: first match wins."""
    if flags >> NOPAGE & 1:
        return "hole"
    for bit, name in ((BUDDY, "free"), (RESERVED, "reserved"), (PGTABLE, "pagetable"),
                      (SLAB, "slab"), (HUGE, "hugetlb"), (THP, "thp"), (ANON, "anon")):
        if flags >> bit & 1:
            return name
    if flags >> LRU & 1 or flags >> MMAP & 1:
        return "cache"
    return "other"


def system_ram():
    """System RAM ranges of /proc/iomem as whole PFNs [start, end)."""
    ranges = []
    with open("/proc/iomem") as f:
        for line in f:
            if line.startswith(" ") or not line.rstrip().endswith(": System RAM"):
                continue
            a, b = (int(x, 16) for x in line.split(" : ")[0].split("-"))
            first, last = -(-a // mstest.PAGE), (b + 1) // mstest.PAGE
            if last > first:
                ranges.append((first, last))
    return ranges


def kpageflags_counts(start, end, ram):
    """Counts per category of PFNs [start, end), read by the test itself."""
    counts = collections.Counter()
    inside = [(max(a, start), min(b, end)) for a, b in ram if b > start and a < end]
    counts["hole"] += (end - start) - sum(b - a for a, b in inside)
    with open("/proc/kpageflags", "rb") as f:
        for a, b in inside:
            f.seek(a * 8)
            data = f.read((b - a) * 8)
            values = array.array("Q")
            values.frombytes(data[: len(data) // 8 * 8])
            counts["hole"] += (b - a) - len(values)  # beyond the last memmap section
            for value, n in collections.Counter(values).items():
                counts[category(value)] += n
    return counts


def cells(doc):
    """Yield (start_pfn, end_pfn, per_cell counts) for every cell."""
    ppc = doc["pages_per_cell"]
    for r in doc["ranges"]:
        start = int(r["start_pfn"], 16)
        for i in range(r["cells"]):
            yield start + i * ppc, start + (i + 1) * ppc, r["per_cell"]


def all_cells_truth(start, end, ppc, ram):
    return [+kpageflags_counts(a, a + ppc, ram) for a in range(start, end, ppc)]


def test_cells_match_kpageflags():
    mstest.require_root()
    ram = system_ram()
    first = memscope_json("physmap")
    ppc = first["pages_per_cell"]
    start, end = int(first["start_pfn"], 16), int(first["end_pfn"], 16)
    # the test reads kpageflags before and after memscope does; cells that did not
    # change meanwhile (other processes keep working) must match exactly
    before = all_cells_truth(start, end, ppc, ram)
    doc = memscope_json("physmap")
    after = all_cells_truth(start, end, ppc, ram)
    assert doc["cells"] == (end - start) // ppc == len(before)
    assert sum(r["cells"] for r in doc["ranges"]) == doc["cells"]
    stable, differ = 0, []
    for i, (a, b, per_cell) in enumerate(cells(doc)):
        got = collections.Counter({k: v for k, v in per_cell.items() if v})
        assert got["hole"] == before[i]["hole"], (hex(a), got, before[i])  # holes never move
        if before[i] != after[i]:
            continue
        stable += 1
        # a page can still flip and flip back between the readings (freed to a
        # per-CPU list, then taken again): a few pages of a cell, no more
        distance = sum(abs(got[k] - before[i][k]) for k in set(got) | set(before[i]))
        if distance > max(8, ppc // 64):
            differ.append((hex(a), dict(got), dict(before[i])))
    assert stable >= len(before) // 2, f"only {stable} of {len(before)} cells held still"
    assert len(differ) <= max(3, stable // 100), f"{len(differ)} of {stable} cells differ: {differ[:5]}"
    for name, n in doc["totals"].items():
        assert n == sum(pc.get(name, 0) for _, _, pc in cells(doc)), name


def pfns_of(pid, vaddr, npages):
    return [e & mstest.PFN_MASK for e in mstest.pagemap(pid, vaddr, npages) if e & mstest.PM_PRESENT]


def test_fixture_pages_are_anon_in_their_cells():
    mstest.require_root()
    with Fixture("memfix") as fx:
        pfns = pfns_of(fx.pid, fx["anon_written"], 64)
        assert len(pfns) == 64
        doc = memscope_json("physmap", "--pages-per-cell", "64")
        ppc = doc["pages_per_cell"]
        mine = collections.Counter(p // ppc * ppc for p in pfns)
        found = {}
        for a, b, per_cell in cells(doc):
            if a in mine:
                found[a] = per_cell
        assert set(found) == set(mine)
        for a, n in mine.items():
            assert found[a].get("anon", 0) >= n, (hex(a), n, found[a])
        mstest.assert_running_untraced(fx.pid)


def test_svg_and_png_are_valid():
    mstest.require_root()
    with tempfile.TemporaryDirectory() as d:
        svg, png = os.path.join(d, "m.svg"), os.path.join(d, "m.png")
        p = memscope("physmap", "--svg", svg, "--png", png)
        assert f"Wrote {svg}" in p.stdout and f"Wrote {png}" in p.stdout
        subprocess.run(["xmllint", "--noout", svg], check=True)
        with open(svg) as f:
            text = f.read()
        assert "Node 0, zone Normal" in text and "free:" in text
        out = subprocess.run(["file", png], capture_output=True, text=True).stdout
        assert "PNG image data" in out, out
        if subprocess.run(["which", "pngcheck"], capture_output=True).returncode == 0:
            subprocess.run(["pngcheck", "-q", png], check=True)
        # and decode it ourselves: IHDR size, IDAT inflates to height rows of RGB
        with open(png, "rb") as f:
            data = f.read()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        pos, idat, width = 8, b"", None
        while pos < len(data):
            (n,) = struct.unpack(">I", data[pos:pos + 4])
            kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
            if kind == b"IHDR":
                width, height = struct.unpack(">II", body[:8])
                assert body[8:10] == b"\x08\x02"  # 8-bit RGB
            elif kind == b"IDAT":
                idat += body
            assert zlib.crc32(kind + body) == struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])[0]
            pos += 12 + n
        assert len(zlib.decompress(idat)) == height * (1 + width * 3)


def test_terminal_map():
    mstest.require_root()
    doc = memscope_json("physmap")
    # not a terminal: one letter per cell, as wide as COLUMNS
    p = memscope("physmap", env={"COLUMNS": "100"})
    rows = [l for l in p.stdout.splitlines() if l.startswith("  ") and re.fullmatch(r"  [FfacTHspro.]+", l)]
    assert sum(len(l) - 2 for l in rows) == doc["cells"]
    assert max(len(l) for l in rows) <= 100
    assert "Legend" in p.stdout
    # on a terminal: 256 colours and half blocks
    cmd = f"COLUMNS=120 {mstest.MEMSCOPE} physmap"
    out = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True, timeout=120).stdout
    assert b"\x1b[38;5;" in out and "\u2580".encode() in out


def test_node_and_cell_size():
    mstest.require_root()
    doc = memscope_json("physmap", "--node", "0", "--pages-per-cell", "4096")
    assert doc["pages_per_cell"] == 4096 and doc["node"] == 0
    assert all(s["node"] in (0, None) for s in doc["sections"])
    # cells of 65536 pages round the zones: the zones' own spans are still
    # zoneinfo's (start_pfn, start_pfn + spanned), read here
    fields, zone = collections.defaultdict(dict), None
    with open("/proc/zoneinfo") as f:
        for line in f:
            m = re.match(r"Node (\d+), zone\s+(\S+)", line)
            if m:
                zone = (int(m[1]), m[2])
            elif line.split()[:1] in (["start_pfn:"], ["spanned"]):
                fields[zone][line.split()[0]] = int(line.split()[1])
    spans = {z: (f["start_pfn:"], f["start_pfn:"] + f["spanned"])
             for z, f in fields.items() if "start_pfn:" in f}
    doc = memscope_json("physmap", "--pages-per-cell", "65536")
    zoned = [s for s in doc["sections"] if s["node"] is not None]
    assert zoned
    for s in zoned:
        assert (int(s["zone_start_pfn"], 16), int(s["zone_end_pfn"], 16)) == \
            spans[(s["node"], s["zone"])], s
    text = memscope("physmap", "--pages-per-cell", "65536").stdout
    for s in zoned:
        lo, hi = spans[(s["node"], s["zone"])]
        assert f"zone {s['zone']}  PFN {lo:#x}-{hi:#x}" in text, text[:400]
    p = memscope("physmap", "--node", "4096", check=False)
    assert p.returncode == 64 and "unknown node" in p.stderr
    p = memscope("physmap", "--pages-per-cell", "0", check=False)
    assert p.returncode == 64
    p = memscope("physmap", "--pages-per-cell", "1", check=False)
    assert p.returncode == 64 and "too many" in p.stderr, p.stderr


def test_needs_root():
    p = memscope("physmap", user="65534", check=False)
    assert p.returncode == 2
    assert "needs root" in p.stderr and "sudo memscope physmap" in p.stderr


if __name__ == "__main__":
    mstest.main()
