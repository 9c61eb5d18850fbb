"""export --prometheus: checked by a small parser of the text exposition
format written here (and promtool when it is installed), and its values
against the kernel's files read here."""
import os
import re
import shutil
import stat
import tempfile
import threading

import mstest
from mstest import memscope, memscope_json
from test_overcommit import commit_limit_pages, meminfo, sysctl

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


class FormatError(AssertionError):
    pass


def parse_labels(text, i, lineno):
    """Parse {a="b",...} starting at text[i] == '{'; returns (labels, next index)."""
    labels = {}
    i += 1
    while True:
        if text[i] == "}":
            return labels, i + 1
        m = LABEL.match(text, i)
        if not m:
            raise FormatError(f"line {lineno}: bad label name at {text[i:]!r}")
        name = m.group()
        i = m.end()
        if text[i:i + 2] != '="':
            raise FormatError(f"line {lineno}: expected =\" after {name}")
        i += 2
        value = []
        while text[i] != '"':
            if text[i] == "\\":
                nxt = text[i + 1]
                if nxt not in '\\"n':
                    raise FormatError(f"line {lineno}: bad escape \\{nxt}")
                value.append("\n" if nxt == "n" else nxt)
                i += 2
            elif text[i] == "\n":
                raise FormatError(f"line {lineno}: raw newline in a label value")
            else:
                value.append(text[i])
                i += 1
        i += 1
        if name in labels:
            raise FormatError(f"line {lineno}: label {name} twice")
        labels[name] = "".join(value)
        if text[i] == ",":
            i += 1
        elif text[i] != "}":
            raise FormatError(f"line {lineno}: expected , or }} after a label")


def parse_exposition(text):
    """{name: {"help": str, "type": str, "samples": {frozenset(labels): float}}}"""
    if not text.endswith("\n"):
        raise FormatError("the last line must end with a newline")
    families, order = {}, []
    current = None
    for lineno, line in enumerate(text.split("\n")[:-1], 1):
        if not line.strip():
            continue
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                if not NAME.fullmatch(name):
                    raise FormatError(f"line {lineno}: bad metric name {name!r}")
                fam = families.setdefault(name, {"help": None, "type": None, "samples": {}})
                if name not in order:
                    order.append(name)
                if fam["samples"]:
                    raise FormatError(f"line {lineno}: {parts[1]} of {name} after its samples")
                if parts[1] == "HELP":
                    if fam["help"] is not None:
                        raise FormatError(f"line {lineno}: second HELP for {name}")
                    doc = parts[3] if len(parts) > 3 else ""
                    if re.search(r"\\[^\\n]", doc):
                        raise FormatError(f"line {lineno}: bad escape in HELP")
                    fam["help"] = doc
                else:
                    if fam["type"] is not None:
                        raise FormatError(f"line {lineno}: second TYPE for {name}")
                    if len(parts) != 4 or parts[3] not in TYPES:
                        raise FormatError(f"line {lineno}: bad TYPE line")
                    fam["type"] = parts[3]
                current = name
            continue
        m = NAME.match(line)
        if not m:
            raise FormatError(f"line {lineno}: bad sample {line!r}")
        name, i = m.group(), m.end()
        labels = {}
        if i < len(line) and line[i] == "{":
            labels, i = parse_labels(line + "\n", i, lineno)
        rest = line[i:].split(" ")
        if rest[0] != "" or len(rest) not in (2, 3):
            raise FormatError(f"line {lineno}: expected one space, a value, a timestamp")
        value = rest[1]
        if value not in ("+Inf", "-Inf", "NaN"):
            try:
                float(value)
            except ValueError:
                raise FormatError(f"line {lineno}: bad value {value!r}")
        if name != current:
            if name in families and families[name]["samples"]:
                raise FormatError(f"line {lineno}: samples of {name} not together")
            current = name
        fam = families.setdefault(name, {"help": None, "type": None, "samples": {}})
        if name not in order:
            order.append(name)
        key = frozenset(labels.items())
        if key in fam["samples"]:
            raise FormatError(f"line {lineno}: {name}{labels} twice")
        fam["samples"][key] = float(value)
    return families


def test_parser_rejects_bad_text():
    """The parser itself must catch what it is here to catch."""
    good = "# HELP a_b x\n# TYPE a_b gauge\na_b{k=\"v\"} 1\n"
    parse_exposition(good)
    for bad in ("a_b 1",                                   # no final newline
                "# TYPE a_b gauge\na_b{k=v} 1\n",          # unquoted
                "# TYPE a_b gauge\na_b{k=\"\\x\"} 1\n",   # bad escape
                "# TYPE a_b gauge\na_b 1\na_b 2\n",        # duplicate series
                "# TYPE a_b gauge\na_b 1\nc 1\na_b{x=\"1\"} 1\n",  # not together
                "# TYPE a_b gauge\na_b one\n",             # value
                "# TYPE a_b gauges\na_b 1\n",              # type
                "a_b 1\n# TYPE a_b gauge\n",               # TYPE after samples
                "# TYPE 1a gauge\n"):                      # name
        try:
            parse_exposition(bad)
        except FormatError:
            continue
        raise AssertionError(f"accepted: {bad!r}")


def check(text):
    fams = parse_exposition(text)
    assert fams
    for name, fam in fams.items():
        assert name.startswith("memscope_"), name
        assert fam["help"], f"{name} has no HELP"
        assert fam["type"] in ("gauge", "counter"), name
        assert fam["samples"], f"{name} has no sample"
        if fam["type"] == "counter":
            assert name.endswith("_total"), name
            assert all(v >= 0 for v in fam["samples"].values())
    return fams


def value(fams, name, **labels):
    return fams[name]["samples"][frozenset(labels.items())]


def test_stdout_format_and_values():
    before = open("/proc/vmstat").read()
    fams = check(memscope("export", "--prometheus").stdout)
    after = open("/proc/vmstat").read()
    mi = meminfo()
    page = mstest.PAGE
    assert value(fams, "memscope_overcommit_mode") == sysctl("overcommit_memory")
    assert value(fams, "memscope_overcommit_ratio") == sysctl("overcommit_ratio")
    assert value(fams, "memscope_admin_reserve_bytes") == sysctl("admin_reserve_kbytes") * 1024
    assert value(fams, "memscope_commit_limit_bytes", source="kernel") == mi["CommitLimit"]
    assert value(fams, "memscope_commit_limit_bytes", source="computed") == \
        commit_limit_pages() * page
    assert value(fams, "memscope_memory_bytes", kind="total") == mi["MemTotal"]
    assert value(fams, "memscope_swap_bytes", kind="total") == mi["SwapTotal"]
    if os.path.isdir("/sys/kernel/mm/transparent_hugepage"):
        sel = re.search(r"\[(\w+)\]", open("/sys/kernel/mm/transparent_hugepage/enabled")
                        .read()).group(1)
        for mode in ("always", "madvise", "never"):
            assert value(fams, "memscope_thp_enabled", mode=mode) == (mode == sel)
        b = dict(line.split() for line in before.splitlines())
        a = dict(line.split() for line in after.splitlines())
        for key in b:
            if key.startswith("thp_"):
                v = value(fams, "memscope_thp_events_total", event=key[4:])
                assert int(b[key]) <= v <= int(a[key]), key
        # every per-size directory has its state set, one mode selected
        sizes = {dict(k)["size"] for k in fams["memscope_mthp_enabled"]["samples"]}
        for size in sizes:
            on = [dict(k)["mode"] for k, v in fams["memscope_mthp_enabled"]["samples"].items()
                  if dict(k)["size"] == size and v == 1]
            real = re.search(r"\[(\w+)\]", open(
                f"/sys/kernel/mm/transparent_hugepage/hugepages-{size}/enabled").read())
            assert on == [real.group(1)]


def buddyinfo():
    out = {}
    with open("/proc/buddyinfo") as f:
        for line in f:
            parts = line.replace(",", " ").split()
            out[(parts[1], parts[3])] = [int(x) for x in parts[4:]]
    return out


def contig(free, order):
    """fill_contig_page_info() of mm/vmstat.c, written here."""
    pages = total = suitable = 0
    for o, blocks in enumerate(free):
        total += blocks
        pages += blocks << o
        if o >= order:
            suitable += blocks << (o - order)
    return pages, total, suitable


def test_frag_figures():
    before = buddyinfo()
    fams = check(memscope("export", "--prometheus").stdout)
    after = buddyinfo()
    blocks = {}
    for key, v in fams["memscope_buddy_free_blocks"]["samples"].items():
        lab = dict(key)
        blocks.setdefault((lab["node"], lab["zone"]), {})[int(lab["order"])] = int(v)
    # every populated zone of buddyinfo, every order it prints
    assert set(blocks) == set(before)
    for zone, orders in blocks.items():
        assert sorted(orders) == list(range(len(before[zone])))
        free = [orders[o] for o in sorted(orders)]
        # the free lists move while we read: the pages they hold, within 10%
        lo = min(sum(b << o for o, b in enumerate(before[zone])),
                 sum(b << o for o, b in enumerate(after[zone])))
        hi = max(sum(b << o for o, b in enumerate(before[zone])),
                 sum(b << o for o, b in enumerate(after[zone])))
        got = sum(b << o for o, b in enumerate(free))
        assert lo * 0.9 - 1024 <= got <= hi * 1.1 + 1024, zone
        # the indices, recomputed here from the exported free lists
        for order in range(len(free)):
            pages, total, suitable = contig(free, order)
            unusable = (pages - (suitable << order)) * 1000 // pages if pages else 1000
            if not total:
                fragindex = 0
            elif suitable:
                fragindex = -1000
            else:
                fragindex = 1000 - (1000 + pages * 1000 // (1 << order)) // total
            labels = frozenset({"node": zone[0], "zone": zone[1], "order": str(order)}.items())
            assert fams["memscope_unusable_index"]["samples"][labels] == unusable / 1000
            assert fams["memscope_fragmentation_index"]["samples"][labels] == fragindex / 1000


def test_file_is_written_atomically():
    d = tempfile.mkdtemp()
    try:
        path = os.path.join(d, "memscope.prom")
        p = memscope("export", "--prometheus", path)
        assert p.stdout.startswith("wrote ")
        st = os.stat(path)
        assert stat.S_IMODE(st.st_mode) == 0o644  # node_exporter is another user
        check(open(path).read())
        assert os.listdir(d) == ["memscope.prom"]  # no temporary file left behind
        # a second export replaces the file (rename): a reader holding the old
        # one still has a whole file, and the name points to a new inode
        with open(path) as old:
            memscope("export", "--prometheus", path)
            check(old.read())
        assert os.stat(path).st_ino != st.st_ino
        # readers racing with writers never see half a file
        stop = threading.Event()
        seen = []

        def reader():
            while not stop.is_set():
                try:
                    with open(path) as f:
                        seen.append(f.read())
                except FileNotFoundError:
                    seen.append(None)

        t = threading.Thread(target=reader)
        t.start()
        for _ in range(10):
            memscope("export", "--prometheus", path)
        stop.set()
        t.join()
        assert None not in seen
        for text in seen[:: max(1, len(seen) // 20)]:
            check(text)
        doc = memscope_json("export", "--prometheus", path)
        assert doc["file"] == path and doc["bytes"] == os.path.getsize(path)
        assert os.listdir(d) == ["memscope.prom"]
    finally:
        shutil.rmtree(d)


def test_json_matches_text():
    fams = check(memscope("export", "--prometheus").stdout)
    doc = memscope_json("export", "--prometheus")
    names = [f["name"] for f in doc["families"]]
    assert names == list(fams)
    for f in doc["families"]:
        assert f["type"] == fams[f["name"]]["type"]
        assert len(f["samples"]) == len(fams[f["name"]]["samples"])


def test_bad_input():
    p = memscope("export", check=False)
    assert p.returncode == 64 and "--prometheus" in p.stderr
    p = memscope("export", "--prometheus", "a", "b", check=False)
    assert p.returncode == 64
    p = memscope("export", "--prometheus", "/nonexistent/dir/memscope.prom", check=False)
    assert p.returncode == 2
    assert p.stderr.startswith("memscope: export: /nonexistent/dir/memscope.prom.tmp.")
    d = tempfile.mkdtemp()
    try:
        p = memscope("export", "--prometheus", d, check=False)
        assert p.returncode == 64 and "is a directory" in p.stderr
        if mstest.IS_ROOT:
            os.chmod(d, 0o755)
            p = memscope("export", "--prometheus", os.path.join(d, "m.prom"), check=False,
                         user="65534")
            assert p.returncode == 2 and "ermission denied" in p.stderr
            assert os.listdir(d) == []
    finally:
        shutil.rmtree(d)


if __name__ == "__main__":
    mstest.main()
