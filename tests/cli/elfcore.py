"""Reading ELF core files in tests, independently of memscope: the headers,
the program headers, the notes, and the bytes of a mapping (holes read as
zeros). Also the expected contents of gcorefix's pattern pages."""
import os
import struct

PT_LOAD, PT_NOTE = 1, 4
NT_PRSTATUS, NT_FPREGSET, NT_PRPSINFO, NT_AUXV = 1, 2, 3, 6
NT_SIGINFO, NT_FILE = 0x53494749, 0x46494C45
NT_X86_XSTATE, NT_X86_XSAVE_LAYOUT = 0x202, 0x205


class Core:
    def __init__(self, path):
        self.path = path
        with open(path, "rb") as f:
            self.ehdr = f.read(64)
            assert self.ehdr[:4] == b"\x7fELF", "not an ELF file"
            (self.e_type, self.e_machine, _, _, self.e_phoff, self.e_shoff, _, _, _,
             self.e_phnum, _, _, _) = struct.unpack_from("<HHIQQQIHHHHHH", self.ehdr, 16)
            f.seek(self.e_phoff)
            raw = f.read(56 * self.e_phnum)
            self.phdrs = [struct.unpack_from("<IIQQQQQQ", raw, 56 * i)
                          for i in range(self.e_phnum)]
            self.loads = [dict(flags=p[1], offset=p[2], vaddr=p[3], filesz=p[5], memsz=p[6])
                          for p in self.phdrs if p[0] == PT_LOAD]
            self.notes = []
            for p in self.phdrs:
                if p[0] != PT_NOTE:
                    continue
                f.seek(p[2])
                data = f.read(p[5])
                o = 0
                while o + 12 <= len(data):
                    namesz, descsz, typ = struct.unpack_from("<III", data, o)
                    o += 12
                    name = data[o:o + namesz].rstrip(b"\0").decode()
                    o += (namesz + 3) & ~3
                    desc = data[o:o + descsz]
                    o += (descsz + 3) & ~3
                    self.notes.append((name, typ, desc))

    def segment(self, addr):
        for s in self.loads:
            if s["vaddr"] <= addr < s["vaddr"] + s["memsz"]:
                return s
        return None

    def read(self, addr, size):
        """Bytes at addr from the core; None if not in the file (p_filesz)."""
        s = self.segment(addr)
        if s is None or addr + size > s["vaddr"] + s["filesz"]:
            return None
        with open(self.path, "rb") as f:
            f.seek(s["offset"] + addr - s["vaddr"])
            return f.read(size)

    def is_hole(self, addr, page):
        """Whether the page at addr is a hole of the sparse file."""
        s = self.segment(addr)
        off = s["offset"] + addr - s["vaddr"]
        fd = os.open(self.path, os.O_RDONLY)
        try:
            try:
                data = os.lseek(fd, off, os.SEEK_DATA)
            except OSError:
                return True  # no data after off
            return data >= off + page
        finally:
            os.close(fd)

    def note_types(self):
        return [(n, t) for n, t, _ in self.notes]

    def threads(self):
        """[(tid, regs dict)] from NT_PRSTATUS, in file order."""
        names = ["r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax",
                 "rcx", "rdx", "rsi", "rdi", "orig_rax", "rip", "cs", "eflags", "rsp", "ss",
                 "fs_base", "gs_base", "ds", "es", "fs", "gs"]
        out = []
        for name, typ, desc in self.notes:
            if typ == NT_PRSTATUS and name == "CORE":
                pid = struct.unpack_from("<i", desc, 32)[0]
                regs = dict(zip(names, struct.unpack_from("<27Q", desc, 112)))
                out.append((pid, regs, desc))
        return out

    def note(self, typ, name="CORE"):
        for n, t, d in self.notes:
            if t == typ and n == name:
                return d
        return None


def pattern_page(pattern, index, page):
    words = page // 8
    mask = (1 << 64) - 1
    return struct.pack(f"<{words}Q", *[(pattern ^ (index << 32 | k)) & mask
                                       for k in range(words)])


def parse_file_note(desc):
    count, page = struct.unpack_from("<QQ", desc, 0)
    entries = [struct.unpack_from("<QQQ", desc, 16 + 24 * i) for i in range(count)]
    names = desc[16 + 24 * count:].split(b"\0")[:count]
    return page, [(s, e, o, n.decode(errors="replace")) for (s, e, o), n in zip(entries, names)]


def parse_prpsinfo(desc):
    state, sname, zomb, nice, flag, uid, gid, pid, ppid, pgrp, sid = \
        struct.unpack_from("<bcbbxxxxQIIiiii", desc, 0)
    fname = desc[40:56].split(b"\0")[0].decode()
    psargs = desc[56:136].split(b"\0")[0].decode()
    return dict(state=state, sname=sname.decode(), zomb=zomb, nice=nice, flag=flag, uid=uid,
                gid=gid, pid=pid, ppid=ppid, pgrp=pgrp, sid=sid, fname=fname, psargs=psargs)
