"""What the kernel says about a process's pages, read here independently of
memscope: pagemap, kpageflags, kpagecount, smaps, mincore, /proc/swaps. The
vm and vtop tests compare memscope's answers with these."""
import ctypes
import time
import ctypes.util
import mmap
import os
import struct

from mstest import (PAGE, PFN_MASK, PM_EXCLUSIVE, PM_PRESENT, PM_SWAP,
                    memscope_json)

PM_UFFD_WP = 1 << 57
PM_GUARD = 1 << 58

# Documentation/admin-guide/mm/pagemap.rst, in bit order
KPF_NAMES = ["LOCKED", "ERROR", "REFERENCED", "UPTODATE", "DIRTY", "LRU", "ACTIVE", "SLAB",
             "WRITEBACK", "RECLAIM", "BUDDY", "MMAP", "ANON", "SWAPCACHE", "SWAPBACKED",
             "COMPOUND_HEAD", "COMPOUND_TAIL", "HUGE", "UNEVICTABLE", "HWPOISON", "NOPAGE",
             "KSM", "THP", "OFFLINE", "ZERO_PAGE", "IDLE", "PGTABLE"]
KPF_HACKING = {32: "RESERVED", 33: "MLOCKED", 34: "OWNER_2", 35: "PRIVATE", 36: "PRIVATE_2",
               37: "OWNER_PRIVATE", 38: "ARCH", 39: "UNCACHED", 40: "SOFTDIRTY", 41: "ARCH_2",
               42: "ARCH_3"}
KPF = {name: i for i, name in enumerate(KPF_NAMES)}


def kpf_names(flags):
    out = []
    for b in range(64):
        if flags >> b & 1:
            out.append(KPF_NAMES[b] if b < len(KPF_NAMES) else KPF_HACKING.get(b, f"BIT{b}"))
    return out


def kpf_has(flags, name):
    return bool(flags >> KPF[name] & 1)


# The VmFlags mnemonics of fs/proc/task_mmu.c and the VM_* bits of include/linux/mm.h.
VMFLAG_BITS = {
    "rd": 0x1, "wr": 0x2, "ex": 0x4, "sh": 0x8, "mr": 0x10, "mw": 0x20, "me": 0x40, "ms": 0x80,
    "gd": 0x100, "um": 0x200, "pf": 0x400, "uw": 0x1000, "lo": 0x2000, "io": 0x4000,
    "sr": 0x8000, "rr": 0x10000, "dc": 0x20000, "de": 0x40000, "lf": 0x80000,
    "ac": 0x100000, "nr": 0x200000, "ht": 0x400000, "sf": 0x800000, "ar": 0x1000000,
    "wf": 0x2000000, "dd": 0x4000000, "sd": 0x8000000, "mm": 0x10000000, "hg": 0x20000000,
    "nh": 0x40000000, "mg": 0x80000000,
}


def vmflags_value(text):
    v = 0
    for word in text.split():
        v |= VMFLAG_BITS.get(word, 0)
    return v


def smaps(pid):
    """[{start, end, perms, offset, name, fields{key: bytes}, vmflags}] from smaps."""
    out = []
    cur = None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            head = line.split(None, 1)[0]
            if "-" in head and ":" not in head:
                parts = line.split(None, 5)
                start, end = (int(x, 16) for x in parts[0].split("-"))
                name = parts[5].rstrip("\n").lstrip() if len(parts) > 5 else ""
                cur = {"start": start, "end": end, "perms": parts[1],
                       "offset": int(parts[2], 16), "name": name, "fields": {}, "vmflags": ""}
                out.append(cur)
            elif line.startswith("VmFlags:"):
                cur["vmflags"] = line.split(":", 1)[1].strip()
            else:
                key, _, val = line.partition(":")
                val = val.split()
                if val and val[0].isdigit():
                    n = int(val[0])
                    cur["fields"][key] = n * 1024 if len(val) > 1 and val[1] == "kB" else n
    return out


def is_file_mapping(vma):
    """A file (or shared memory) mapping: memscope prints FILE: for its absent pages."""
    return vma["name"] != "" and not vma["name"].startswith("[")


def pagemap_range(pid, start, npages):
    out = []
    with open(f"/proc/{pid}/pagemap", "rb") as f:
        done = 0
        while done < npages:
            n = min(npages - done, 1 << 16)
            f.seek((start // PAGE + done) * 8)
            data = f.read(n * 8)
            out.extend(struct.unpack(f"<{len(data) // 8}Q", data))
            if len(data) < n * 8:
                break
            done += n
    return out


def kpage_file(path, pfn, n):
    with open(path, "rb") as f:
        f.seek(pfn * 8)
        data = f.read(n * 8)
    return list(struct.unpack(f"<{len(data) // 8}Q", data))


def kpageflags(pfn, n=1):
    return kpage_file("/proc/kpageflags", pfn, n)


def kpagecount(pfn, n=1):
    return kpage_file("/proc/kpagecount", pfn, n)


_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                       ctypes.c_long]
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]


def resident(pid, vma):
    """mincore of the file behind a mapping, one 0/1 per page, or None."""
    path = f"/proc/{pid}/map_files/{vma['start']:x}-{vma['end']:x}"
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    size = vma["end"] - vma["start"]
    try:
        addr = _libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, vma["offset"])
    finally:
        os.close(fd)
    if addr is None or addr == ctypes.c_void_p(-1).value:
        return None
    try:
        npages = size // PAGE
        vec = (ctypes.c_ubyte * npages)()
        if _libc.mincore(addr, size, vec) != 0:
            return None
        return [v & 1 for v in vec]
    finally:
        _libc.munmap(addr, size)


def swaps():
    """[(path, type_index)] from /proc/swaps, in the kernel's order."""
    out = []
    with open("/proc/swaps") as f:
        next(f)
        for i, line in enumerate(f):
            out.append(line.split()[0].replace("\\040", " "))
    return out


def page_truth(pid, vma, entries=None):
    """Per page of a mapping: (state, paddr or None, set of marks), as memscope
    should report them, from pagemap and kpageflags (read as root)."""
    npages = (vma["end"] - vma["start"]) // PAGE
    if entries is None:
        entries = pagemap_range(pid, vma["start"], npages)
    anon = not is_file_mapping(vma)
    out = []
    flags_cache = {}
    for i, e in enumerate(entries):
        if e & PM_PRESENT:
            pfn = e & PFN_MASK
            if pfn not in flags_cache:
                flags_cache[pfn] = kpageflags(pfn)[0]
            kf = flags_cache[pfn]
            marks = set()
            zero = kpf_has(kf, "ZERO_PAGE")
            if zero:
                marks.add("zero")
            if anon and kpf_has(kf, "THP") and not zero:
                marks.add("thp")
            if kpf_has(kf, "KSM"):
                marks.add("ksm")
            # mapped more than once: kpagecount for a small page; for a piece
            # of a large folio the count is per folio, so the exclusive bit
            if kpf_has(kf, "COMPOUND_HEAD") or kpf_has(kf, "COMPOUND_TAIL"):
                shared = not (e & PM_EXCLUSIVE)
            else:
                shared = kpagecount(pfn)[0] > 1
            if shared and not zero:
                marks.add("shared")
            out.append(("present", pfn * PAGE, marks))
        elif e & PM_GUARD:  # guard markers have the swap bit too
            out.append(("guard", None, set()))
        elif e & PM_SWAP:
            out.append(("swap", None, set()))
        elif not anon:
            out.append(("file", None, set()))
        else:
            out.append(("not_mapped", None, set()))
    return out, entries


def expand(mapping):
    """memscope's JSON items of one mapping, one tuple per page."""
    out = []
    for it in mapping["pages"]:
        n = it.get("pages", 1)
        base = int(it["vaddr"], 16)
        for k in range(n):
            paddr = int(it["paddr"], 16) + k * PAGE if it.get("paddr") else None
            out.append((base + k * PAGE, it["state"], paddr, set(it.get("marks", [])), it, k))
    return out


def sharing(pid):
    """{address: mapped more than once} of pid's present pages now. Library
    pages move as other processes (other tests' memscope among them) map and
    unmap them: read before memscope runs and after, a page whose answer
    changed may rightly have either."""
    out = {}
    for vma in smaps(pid):
        if vma["start"] >> 63:
            continue
        for i, (state, paddr, marks) in enumerate(page_truth(pid, vma)[0]):
            if state == "present":
                out[vma["start"] + i * PAGE] = "shared" in marks
    return out


def settle(truth, start, before, said):
    """page_truth()'s list for a mapping at start, with memscope's answer
    taken for the pages whose sharing moved between before (sharing() read
    before memscope ran) and now; said: {address: memscope marked it shared}."""
    for i, (state, paddr, marks) in enumerate(truth):
        va = start + i * PAGE
        if state == "present" and va in said and before.get(va) != ("shared" in marks):
            truth[i] = (state, paddr, (marks - {"shared"}) | ({"shared"} if said[va] else set()))
    return truth


def compare_pages(pid, doc, root=True, marks=("zero", "thp", "ksm", "shared"), before=None):
    """Every page memscope reported against pagemap/kpageflags read now;
    before: sharing() read before memscope ran."""
    problems = []
    vmas = {v["start"]: v for v in smaps(pid)}
    for m in doc["mappings"]:
        start, end = int(m["start"], 16), int(m["end"], 16)
        vma = vmas.get(start)
        if vma is None or vma["end"] != end or start >> 63:
            continue
        truth, entries = page_truth(pid, vma)
        pages = expand(m)
        if before is not None:
            settle(truth, start, before, {p[0]: "shared" in p[3] for p in pages})
        if len(pages) != len(truth):
            problems.append(f"{start:x}: {len(pages)} pages reported, {len(truth)} exist")
            continue
        for i, (va, state, paddr, mk, item, k) in enumerate(pages):
            want_state, want_paddr, want_marks = truth[i]
            e = entries[i]
            if va != start + i * PAGE:
                problems.append(f"{va:x}: out of order")
                break
            if state != want_state:
                problems.append(f"{va:x}: state {state}, kernel says {want_state} ({e:#x})")
                continue
            if state == "present":
                if root and paddr != want_paddr:
                    problems.append(f"{va:x}: paddr {paddr}, kernel says {want_paddr:#x}")
                if not root and paddr is not None:
                    problems.append(f"{va:x}: paddr {paddr:#x} shown without root")
                got = mk & set(marks)
                want = want_marks & set(marks)
                if got != want:
                    problems.append(f"{va:x}: marks {sorted(got)}, kernel says {sorted(want)}")
            elif state == "file":
                off = int(item["offset"], 16) + k * PAGE
                if off != vma["offset"] + (va - start):
                    problems.append(f"{va:x}: file offset {off:#x}")
            elif state == "swap":
                if item["swap_type"] != e & 0x1f or item["swap_offset"] != (e & PFN_MASK) >> 5:
                    problems.append(f"{va:x}: swap entry differs from {e:#x}")
    return problems


def check_pages(pid, args=("vm", "-p"), retries=2, **kw):
    """Run memscope and compare; a page may move between the two reads, so retry."""
    for attempt in range(retries + 1):
        before = sharing(pid) if kw.get("root", True) and "shared" in kw.get(
            "marks", ("shared",)) else None
        doc = memscope_json(*args, pid, **{k: v for k, v in kw.items() if k in ("env", "user")})
        problems = compare_pages(pid, doc, before=before,
                                 **{k: v for k, v in kw.items() if k in ("root", "marks")})
        if not problems:
            return doc
        time.sleep(0.2)
    raise AssertionError(f"{len(problems)} pages differ: " + "; ".join(problems[:8]))


def summary_truth(pid, vma, root=True):
    truth, entries = page_truth(pid, vma)
    c = dict.fromkeys(["present", "zero", "thp", "ksm", "shared", "swap", "cached",
                       "untouched"], 0)
    c["size"] = len(truth)
    res = resident(pid, vma) if is_file_mapping(vma) else None
    for i, (state, paddr, marks) in enumerate(truth):
        if state == "present":
            c["present"] += 1
            for k in ("zero", "thp", "ksm", "shared"):
                c[k] += k in marks
        elif state == "swap":
            c["swap"] += 1
        elif res is not None and res[i]:
            c["cached"] += 1
        else:
            c["untouched"] += 1
    if not root:
        c["ksm"] = vma["fields"].get("KSM", 0) // PAGE
    return c
