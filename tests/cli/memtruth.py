"""Independent truth for rd, find and ptov tests: symbols from nm/readelf and
the load address from /proc/PID/maps, memory from /proc/PID/mem, and crash's
rd line layout parsed back into values."""
import os
import re
import struct
import subprocess

import mstest


def read_mem(pid, addr, size):
    """Exactly these bytes of /proc/PID/mem: unbuffered, so that no page
    past them is read (and faulted in) by a read-ahead."""
    fd = os.open(f"/proc/{pid}/mem", os.O_RDONLY)
    try:
        out = b""
        while len(out) < size:
            chunk = os.pread(fd, size - len(out), addr + len(out))
            if not chunk:
                break
            out += chunk
        return out
    finally:
        os.close(fd)


def elf_path(pid):
    return os.readlink(f"/proc/{pid}/exe")


def load_base(pid, path):
    """The load bias of ELF file `path` in process pid: where its first PT_LOAD
    landed (from /proc/PID/maps) less that segment's p_vaddr (from readelf)."""
    out = subprocess.run(["readelf", "-lW", path], capture_output=True, text=True,
                         check=True).stdout
    loads = [l.split() for l in out.splitlines() if l.strip().startswith("LOAD")]
    offset, vaddr = int(loads[0][1], 16), int(loads[0][2], 16)
    page = mstest.PAGE
    for start, _end, _perms, off, name in mstest.maps(pid):
        if name == path and off == offset // page * page:
            return start - off - (vaddr - offset)
    raise AssertionError(f"{path} not mapped in {pid}")


def nm_symbols(path, dynamic=False):
    """{name: value} and {value: [names]} of defined symbols, by nm."""
    cmd = ["nm", "--defined-only"] + (["-D"] if dynamic else []) + [path]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    by_name, by_value = {}, {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) != 3:
            continue
        value, name = int(parts[0], 16), parts[2].split("@")[0]
        by_name.setdefault(name, value)
        by_value.setdefault(value, []).append(name)
    return by_name, by_value


def symbol_address(pid, name, path=None):
    path = path or elf_path(pid)
    by_name, _ = nm_symbols(path)
    return load_base(pid, path) + by_name[name]


def mapped_path(pid, addr):
    for start, end, _perms, _off, name in mstest.maps(pid):
        if start <= addr < end:
            return name
    return None


RD_LINE = re.compile(r"^( {0,15}[0-9a-f]{1,16}):  (.*)$")


def parse_rd(text, width=8, ascii_col=True):
    """[(address, [values], ascii)] from crash-style rd lines. Checks the
    layout too: the address right-justified in 16 columns, and the ASCII
    column where crash puts it."""
    start_col = {1: 67, 2: 59, 4: 55, 8: 53}[width]
    rows = []
    for line in text.splitlines():
        m = RD_LINE.match(line)
        assert m, f"not an rd line: {line!r}"
        assert len(m.group(1)) == 16, f"address not right-justified in 16: {line!r}"
        addr = int(m.group(1), 16)
        rest = m.group(2)
        asc = None
        if ascii_col:
            body = line[:start_col]
            asc = line[start_col + 2:]
            assert line[start_col:start_col + 2] == "  " or len(line) <= start_col, line
            vals = body[19:].split()
        else:
            vals = rest.split()
        rows.append((addr, vals, asc))
    return rows


def printable(b):
    return "".join(chr(c) if 0x20 <= c < 0x7f else "." for c in b)


def scan(data, base, values, width, mask=0):
    """Where crash's search finds any of the values: aligned, masked."""
    fmt = {1: "B", 2: "H", 4: "I", 8: "Q"}[width]
    hits = []
    n = len(data) // width
    words = struct.unpack(f"<{n}{fmt}", data[:n * width])
    for i, w in enumerate(words):
        for v in values:
            if (w | mask) == (v | mask):
                hits.append(base + i * width)
                break
    return hits


def pm_present(pid, addr, npages):
    return [bool(e & mstest.PM_PRESENT) for e in mstest.pagemap(pid, addr, npages)]


def run_rss(args, timeout=300):
    """Run memscope with args, stdout thrown away; returns (exit status,
    stderr, peak RSS in KiB). The peak comes from GNU time, whose small
    process is memscope's parent: a child of this python would count the
    python it was forked from."""
    import tempfile
    cmd = [mstest.MEMSCOPE, *map(str, args)]
    with tempfile.NamedTemporaryFile("r") as rss:
        p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss.name, *cmd],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                           errors="replace", timeout=timeout)
        peak = int(rss.read().split()[-1])
    if "Sanitizer" in p.stderr or "runtime error:" in p.stderr:
        raise AssertionError(f"sanitizer report from {cmd}:\n{p.stderr[-4000:]}")
    return p.returncode, p.stderr, peak


def sanitized():
    return "asan" in os.environ.get("MEMSCOPE_VARIANT", "")
