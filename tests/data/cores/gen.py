#!/usr/bin/env python3
"""Write the corpus of small core files: one good core (good/base.core) whose
contents are known (the constants below), and broken ones (bad/*.core), each
broken in one way: truncated at every interesting point, bad header fields,
overlapping or oversized segments, malformed notes, no threads, another
machine. memscope must open the good one and refuse every bad one with one
line and exit status 2. The files are committed; run this to regenerate them:

    python3 tests/data/cores/gen.py
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

ET_CORE, ET_EXEC = 4, 2
EM_X86_64, EM_AARCH64 = 62, 183
PT_LOAD, PT_NOTE = 1, 4
PF_X, PF_W, PF_R = 1, 2, 4
NT_PRSTATUS, NT_FPREGSET, NT_PRPSINFO, NT_AUXV = 1, 2, 3, 6
NT_SIGINFO, NT_FILE, NT_X86_XSTATE = 0x53494749, 0x46494C45, 0x202
AT_NULL, AT_PAGESZ, AT_ENTRY = 0, 6, 9

# What the good core holds, for the tests.
PID = 4242
TIDS = [4242, 4243]
COMM = "basecore"
ARGS = "basecore --flag"
EXE = "/nonexistent/basecore"
# Segments hold only their first bytes in the core, to keep the files small.
TEXT = 0x400000           # mapped from EXE at offset 0
TEXT_SIZE, TEXT_FILESZ = 0x2000, 0x400
DATA = 0x600000           # anonymous
DATA_SIZE, DATA_FILESZ = 0x3000, 0x400
STACK = 0x7FFFF000
STACK_SIZE, STACK_FILESZ = 0x1000, 0x400
ENTRY = TEXT + 0x100
SIGNO, SI_CODE, FAULT_ADDR = 11, 1, 0xDEAD
# general registers of each thread, in user_regs_struct order
REG_NAMES = ["r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax",
             "rcx", "rdx", "rsi", "rdi", "orig_rax", "rip", "cs", "eflags", "rsp", "ss",
             "fs_base", "gs_base", "ds", "es", "fs", "gs"]


def regs_of(i):
    r = {name: 0x1000 * (i + 1) + k for k, name in enumerate(REG_NAMES)}
    r.update(rip=TEXT + 0x10 + i, rsp=STACK + 0x800 - 0x100 * i, cs=0x33, ss=0x2B,
             eflags=0x246, orig_rax=0xFFFFFFFFFFFFFFFF)
    return r


XMM0 = [0x00112233445566778899AABBCCDDEEFF, 0x0F0E0D0C0B0A09080706050403020100]


def text_bytes():
    return bytes((i * 7 + 3) & 0xFF for i in range(TEXT_FILESZ))


def data_bytes():
    return b"".join(struct.pack("<Q", 0x6461746170616765 ^ i) for i in range(DATA_FILESZ // 8))


def stack_bytes():
    return b"".join(struct.pack("<Q", 0x737461636B000000 + i) for i in range(STACK_FILESZ // 8))


def note(name, ntype, desc, align=4):
    nb = name.encode() + b"\0" if name is not None else b""
    pad = lambda b: b + b"\0" * (-len(b) % align)
    return struct.pack("<III", len(nb), len(desc), ntype) + pad(nb) + pad(desc)


def prstatus(tid, i, signo=0):
    r = regs_of(i)
    d = struct.pack("<iii", signo, 0, 0) + struct.pack("<h", signo) + b"\0\0"
    d += struct.pack("<QQ", 0, 0)                    # sigpend, sighold
    d += struct.pack("<iiii", tid, 1, tid, tid)      # pid, ppid, pgrp, sid
    d += b"\0" * 64                                  # four struct timeval
    d += b"".join(struct.pack("<Q", r[n]) for n in REG_NAMES)
    d += struct.pack("<i", 1) + b"\0" * 4            # pr_fpvalid, padding
    assert len(d) == 336
    return d


def prpsinfo():
    d = struct.pack("<bcbb", 0, b"S", 0, 0) + b"\0" * 4 + struct.pack("<Q", 0)
    d += struct.pack("<IIiiii", 1000, 1000, PID, 1, PID, PID)
    d += COMM.encode().ljust(16, b"\0") + ARGS.encode().ljust(80, b"\0")
    assert len(d) == 136
    return d


def siginfo():
    d = struct.pack("<iii", SIGNO, 0, SI_CODE) + b"\0" * 4 + struct.pack("<Q", FAULT_ADDR)
    return d.ljust(128, b"\0")


def fpregset(i):
    d = bytearray(512)
    struct.pack_into("<HH", d, 0, 0x37F, 0)          # cwd, swd
    struct.pack_into("<I", d, 24, 0x1F80)            # mxcsr
    x = XMM0[i]
    struct.pack_into("<QQ", d, 160, x & (2**64 - 1), x >> 64)
    return bytes(d)


def xstate(i):
    return fpregset(i) + b"\0" * 64                  # legacy area + XSAVE header


def auxv():
    return struct.pack("<6Q", AT_PAGESZ, 4096, AT_ENTRY, ENTRY, AT_NULL, 0)


def nt_file(entries, page=4096, count=None, names=None):
    d = [struct.pack("<QQ", len(entries) if count is None else count, page)]
    d += [struct.pack("<QQQ", start, end, pgoff) for start, end, pgoff, _ in entries]
    d += [(e[3] if isinstance(e, tuple) else e).encode() + b"\0"
          for e in (entries if names is None else names)]
    return b"".join(d)


def good_notes():
    return [
        ("CORE", NT_PRSTATUS, prstatus(TIDS[0], 0, SIGNO)),
        ("CORE", NT_PRPSINFO, prpsinfo()),
        ("CORE", NT_SIGINFO, siginfo()),
        ("CORE", NT_AUXV, auxv()),
        ("CORE", NT_FILE, nt_file([(TEXT, TEXT + TEXT_SIZE, 0, EXE)])),
        ("CORE", NT_FPREGSET, fpregset(0)),
        ("LINUX", NT_X86_XSTATE, xstate(0)),
        ("CORE", NT_PRSTATUS, prstatus(TIDS[1], 1)),
        ("CORE", NT_FPREGSET, fpregset(1)),
        ("LINUX", NT_X86_XSTATE, xstate(1)),
    ]


def build(notes=None, raw_notes=None, segments=None, ident=None, etype=ET_CORE,
          machine=EM_X86_64, phentsize=56, phnum=None, phoff=None, extra_phdrs=(),
          note_align=4, shoff=0, note_filesz_delta=0):
    """A core: ELF header, program headers, notes, then the segments' bytes.
    segments: [(vaddr, memsz, flags, data)] where len(data) is p_filesz."""
    if segments is None:
        segments = [(TEXT, TEXT_SIZE, PF_R | PF_X, text_bytes()),
                    (DATA, DATA_SIZE, PF_R | PF_W, data_bytes()),
                    (STACK, STACK_SIZE, PF_R | PF_W, stack_bytes())]
    if raw_notes is None:
        raw_notes = b"".join(note(n, t, d, note_align) for n, t, d in
                             (good_notes() if notes is None else notes))
    nph = 1 + len(segments) + len(extra_phdrs)
    note_off = 64 + 56 * nph
    off = note_off + len(raw_notes)
    phdrs = [struct.pack("<IIQQQQQQ", PT_NOTE, 0, note_off, 0, 0,
                         len(raw_notes) + note_filesz_delta, 0, note_align)]
    body = bytearray()
    for vaddr, memsz, flags, data in segments:
        phdrs.append(struct.pack("<IIQQQQQQ", PT_LOAD, flags, off + len(body), vaddr, 0,
                                 len(data), memsz, 4096))
        body += data
    phdrs += list(extra_phdrs)
    e_ident = ident or (b"\x7fELF" + bytes([2, 1, 1, 0]) + b"\0" * 8)
    eh = e_ident + struct.pack("<HHIQQQIHHHHHH", etype, machine, 1, 0,
                               64 if phoff is None else phoff, shoff, 0, 64, phentsize,
                               nph if phnum is None else phnum, 64, 0, 0)
    return eh + b"".join(phdrs) + raw_notes + bytes(body)


def phdr(ptype, offset, vaddr, filesz, memsz, flags=PF_R, align=4096):
    return struct.pack("<IIQQQQQQ", ptype, flags, offset, vaddr, 0, filesz, memsz, align)


def set_phdr_field(core, index, field, value):
    """Patch one program header field (p_offset, p_vaddr, p_filesz, p_memsz)."""
    at = {"p_offset": 8, "p_vaddr": 16, "p_filesz": 32, "p_memsz": 40}[field]
    b = bytearray(core)
    struct.pack_into("<Q", b, 64 + 56 * index + at, value)
    return bytes(b)


def without(ntype, notes=None):
    return [n for n in (notes or good_notes()) if n[1] != ntype]


def bad_cores():
    good = build()
    note_off = 64 + 56 * 4
    text_off = note_off + len(b"".join(note(a, t, d) for a, t, d in good_notes()))
    bad = {}
    # truncated at every interesting point
    for name, at in [("empty", 0), ("in-magic", 3), ("in-ident", 10), ("in-header", 40),
                     ("in-phdrs", 64 + 56 + 20), ("before-notes", note_off),
                     ("in-note-header", note_off + 6), ("in-prstatus", note_off + 100),
                     ("in-notes", note_off + 1200), ("before-segments", text_off),
                     ("in-segment", text_off + 100), ("last-byte", len(good) - 1)]:
        bad[f"truncated-{name}"] = good[:at]
    # ELF identification and header
    bad["not-elf"] = b"this is not a core file\n" * 4
    bad["elf32"] = build(ident=b"\x7fELF" + bytes([1, 1, 1, 0]) + b"\0" * 8)
    bad["big-endian"] = build(ident=b"\x7fELF" + bytes([2, 2, 1, 0]) + b"\0" * 8)
    bad["bad-class"] = build(ident=b"\x7fELF" + bytes([7, 1, 1, 0]) + b"\0" * 8)
    bad["bad-version"] = build(ident=b"\x7fELF" + bytes([2, 1, 9, 0]) + b"\0" * 8)
    bad["not-core"] = build(etype=ET_EXEC)
    bad["wrong-machine"] = build(machine=EM_AARCH64)
    bad["bad-phentsize"] = build(phentsize=32)
    bad["no-phdrs"] = build(phnum=0)
    bad["phnum-xnum-no-shdr"] = build(phnum=0xFFFF)
    bad["phnum-huge"] = build(phnum=0xFFFE)
    bad["phoff-huge"] = build(phoff=0xFFFFFFFF00000000)
    bad["phoff-in-header"] = build(phoff=10)
    bad["phoff-past-end"] = build(phoff=len(good) - 10)
    # segments
    bad["filesz-huge"] = set_phdr_field(good, 1, "p_filesz", 0xFFFFFFFFFFFF0000)
    bad["filesz-and-memsz-huge"] = set_phdr_field(
        set_phdr_field(good, 1, "p_memsz", 0xFFFFFFFFFFFF0000), 1, "p_filesz",
        0xFFFFFFFFFFFF0000)
    bad["filesz-over-memsz"] = set_phdr_field(good, 2, "p_filesz", DATA_SIZE + 0x1000)
    bad["filesz-past-end"] = set_phdr_field(good, 2, "p_filesz", 0x3000)
    bad["offset-huge"] = set_phdr_field(good, 1, "p_offset", 0xFFFFFFFFFFFFF000)
    bad["segment-past-end"] = set_phdr_field(good, 3, "p_offset", len(good) - 100)
    bad["vaddr-wraps"] = set_phdr_field(good, 3, "p_vaddr", 0xFFFFFFFFFFFFF800)
    bad["overlap-vaddr"] = set_phdr_field(good, 2, "p_vaddr", TEXT + 0x1000)
    bad["overlap-file"] = set_phdr_field(good, 2, "p_offset", text_off + 0x200)
    # note segment
    bad["notes-past-end"] = set_phdr_field(good, 0, "p_filesz", len(good))
    bad["notes-offset-huge"] = set_phdr_field(good, 0, "p_offset", 0xFFFFFFFFFFFFFF00)
    bad["notes-cut-short"] = build(note_filesz_delta=-5)
    bad["no-notes"] = build(raw_notes=b"", note_filesz_delta=0)
    n = good_notes()
    raw = b"".join(note(a, t, d) for a, t, d in n)
    bad["note-namesz-huge"] = build(raw_notes=struct.pack("<III", 0xFFFFFFFF, 4, 1) + raw)
    bad["note-descsz-huge"] = build(raw_notes=struct.pack("<III", 5, 0xFFFFFFF0, 1) +
                                    b"CORE\0\0\0\0" + raw)
    bad["note-name-unterminated"] = build(raw_notes=struct.pack("<III", 4, 0, 1) + b"CORE" +
                                          raw)
    bad["note-header-cut"] = build(raw_notes=raw + b"\x05\0\0\0\0\0")
    # threads and their notes
    bad["zero-threads"] = build(notes=[n[1], n[3], n[4]])
    bad["siginfo-without-thread"] = build(notes=without(NT_PRSTATUS))
    bad["prstatus-short"] = build(notes=[("CORE", NT_PRSTATUS, prstatus(PID, 0)[:200])] +
                                  n[1:])
    bad["prpsinfo-short"] = build(notes=[n[0], ("CORE", NT_PRPSINFO, prpsinfo()[:100])] +
                                  n[2:])
    bad["prpsinfo-twice"] = build(notes=n[:2] + [n[1]] + n[2:])
    bad["siginfo-short"] = build(notes=n[:2] + [("CORE", NT_SIGINFO, siginfo()[:64])] +
                                 n[3:])
    bad["fpregset-first"] = build(notes=[n[5]] + n)
    bad["fpregset-short"] = build(notes=n[:5] + [("CORE", NT_FPREGSET, b"\0" * 100)] + n[6:])
    bad["xstate-short"] = build(notes=n[:6] + [("LINUX", NT_X86_XSTATE, b"\0" * 512)] + n[7:])
    bad["auxv-odd-size"] = build(notes=n[:3] + [("CORE", NT_AUXV, auxv()[:20])] + n[4:])
    bad["auxv-twice"] = build(notes=n[:4] + [n[3]] + n[4:])
    bad["thread-twice"] = build(notes=n + [("CORE", NT_PRSTATUS, prstatus(TIDS[1], 1))])
    # NT_FILE
    entry = [(TEXT, TEXT + TEXT_SIZE, 0, EXE)]

    def with_file(desc):
        return build(notes=n[:4] + [("CORE", NT_FILE, desc)] + n[5:])
    bad["ntfile-count-huge"] = with_file(nt_file(entry, count=1 << 62))
    bad["ntfile-count-too-big"] = with_file(nt_file(entry, count=3))
    bad["ntfile-names-missing"] = with_file(nt_file(entry, names=[]))
    bad["ntfile-page-zero"] = with_file(nt_file(entry, page=0))
    bad["ntfile-page-odd"] = with_file(nt_file(entry, page=3000))
    bad["ntfile-short"] = with_file(b"\1\0\0\0\0\0\0\0")
    bad["ntfile-end-before-start"] = with_file(nt_file([(TEXT + TEXT_SIZE, TEXT, 0, EXE)]))
    bad["ntfile-offset-overflow"] = with_file(nt_file([(TEXT, TEXT + TEXT_SIZE, 1 << 60,
                                                        EXE)]))
    bad["ntfile-overlap"] = with_file(nt_file([(TEXT, TEXT + TEXT_SIZE, 0, EXE),
                                               (TEXT + 0x1000, TEXT + 0x3000, 0, EXE)]))
    bad["ntfile-twice"] = build(notes=n[:5] + [n[4]] + n[5:])
    return bad


def main():
    os.makedirs(os.path.join(HERE, "good"), exist_ok=True)
    os.makedirs(os.path.join(HERE, "bad"), exist_ok=True)
    with open(os.path.join(HERE, "good", "base.core"), "wb") as f:
        f.write(build())
    # The same core with 8-byte aligned notes, as some writers produce.
    with open(os.path.join(HERE, "good", "align8.core"), "wb") as f:
        f.write(build(note_align=8))
    for name, data in sorted(bad_cores().items()):
        with open(os.path.join(HERE, "bad", name + ".core"), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
