#!/usr/bin/env python3
"""Make a small fuzzing seed from a real core: keep the headers and notes,
and only the first bytes of each segment (more of the ELF header pages of
mapped files, whose build-ids are parsed).  trim_core.py IN OUT [KEEP]"""
import struct
import sys


def main():
    src, dst = sys.argv[1], sys.argv[2]
    keep = int(sys.argv[3]) if len(sys.argv) > 3 else 64
    d = open(src, "rb").read()
    phoff, = struct.unpack_from("<Q", d, 0x20)
    phnum, = struct.unpack_from("<H", d, 0x38)
    phdrs = [list(struct.unpack_from("<IIQQQQQQ", d, phoff + 56 * i)) for i in range(phnum)]
    out = bytearray(d[:64]) + bytearray(56 * phnum)
    struct.pack_into("<Q", out, 0x20, 64)
    struct.pack_into("<Q", out, 0x28, 0)  # no section headers
    struct.pack_into("<HHH", out, 0x3A, 0, 0, 0)
    for p in phdrs:  # notes first, then segment bytes
        if p[0] == 4:
            data = d[p[2]:p[2] + p[5]]
            p[2] = len(out)
            out += data
    for p in phdrs:
        if p[0] == 1:
            # ELF header pages keep their program headers and notes (build-ids)
            elf = d[p[2]:p[2] + 4] == b"\x7fELF"
            n = min(p[5], 1024 if elf else keep)
            data = d[p[2]:p[2] + n]
            p[2], p[5] = len(out), n
            out += data
    for i, p in enumerate(phdrs):
        struct.pack_into("<IIQQQQQQ", out, 64 + 56 * i, *p)
    open(dst, "wb").write(out)


if __name__ == "__main__":
    main()
