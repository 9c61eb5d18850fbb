"""vm: mappings, vm -p page by page, --ranges, --summary, checked against the
kernel's own files (pagemap, kpageflags, kpagecount, smaps, mincore) read here."""
import json
import os
import re
import signal
import subprocess
import time

import mstest
import pagetruth as pt
from mstest import PAGE, Fixture, memscope, memscope_json

NOBODY = "nobody"


def asan():
    return "asan" in os.environ.get("MEMSCOPE_VARIANT", "")


def thp_ready(fx):
    """The fixture's 2 MiB written region is a THP (THP allocation can fail)."""
    e = mstest.pagemap(fx.pid, fx["thp"], 1)[0]
    return e & mstest.PM_PRESENT and pt.kpf_has(pt.kpageflags(e & mstest.PFN_MASK)[0], "THP")


# ---- vm ----

def test_vm_header_and_flags_match_proc():
    with Fixture("memfix") as fx:
        doc = memscope_json("vm", fx.pid)
        st = mstest.proc_status(fx.pid)
        assert doc["pid"] == fx.pid and doc["command"] == "memfix"
        assert doc["rss_bytes"] == int(st["VmRSS"].split()[0]) * 1024
        assert doc["total_vm_bytes"] == int(st["VmSize"].split()[0]) * 1024
        sm = pt.smaps(fx.pid)
        assert len(doc["mappings"]) == len(sm)
        for m, v in zip(doc["mappings"], sm):
            assert int(m["start"], 16) == v["start"] and int(m["end"], 16) == v["end"]
            assert m["perms"] == v["perms"]
            assert int(m["flags"], 16) == pt.vmflags_value(v["vmflags"]), (m, v["vmflags"])
            name = v["name"].removesuffix(" (deleted)")
            assert (m["file"] or "") == name
        # the text: crash's layout, one line per mapping, flags in hex
        out = memscope("-p", fx.pid, "vm").stdout.splitlines()
        assert out[0] == f'PID: {fx.pid:<8} COMMAND: "memfix"'
        assert out[1].split() == ["RSS", "TOTAL_VM"]
        assert out[2].split() == [st["VmRSS"].split()[0] + "k", st["VmSize"].split()[0] + "k"]
        assert out[3].split() == ["START", "END", "FLAGS", "FILE"]
        for line, v in zip(out[4:], sm):
            words = line.split(None, 3)
            assert int(words[0], 16) == v["start"] and int(words[1], 16) == v["end"]
            assert int(words[2], 16) == pt.vmflags_value(v["vmflags"])
            assert (words[3] if len(words) > 3 else "") == v["name"]
        assert "TASK" not in "\n".join(out) and "PGD" not in "\n".join(out)
        mstest.assert_running_untraced(fx.pid)


def test_vm_p_every_page_matches_kernel():
    mstest.require_root()
    with Fixture("memfix") as fx:
        # with and without smaps read on another thread while pages are read ahead
        pt.check_pages(fx.pid, env={"MEMSCOPE_READ_AHEAD": "0"})
        doc = pt.check_pages(fx.pid, env={"MEMSCOPE_READ_AHEAD": "1"})
        assert doc["physical_addresses"] is True
        byaddr = {}
        for m in doc["mappings"]:
            for va, state, paddr, mk, it, k in pt.expand(m):
                byaddr[va] = (state, mk)
        # the fixture's regions are what it says they are
        for p in range(64):
            assert byaddr[fx["anon_written"] + p * PAGE][0] == "present"
            assert byaddr[fx["anon_untouched"] + p * PAGE][0] == "not_mapped"
        for p in range(16):
            assert byaddr[fx["anon_read"] + p * PAGE] == ("present", {"zero"})
        if thp_ready(fx):
            for p in range(512):
                assert byaddr[fx["thp"] + p * PAGE] == ("present", {"thp"})
        for p in range(32, 64):
            assert byaddr[fx["file"] + p * PAGE][0] == "file"
        assert byaddr[fx["prot_none"]][0] == "not_mapped"
        if fx["guard_ok"]:
            assert [byaddr[fx["guard"] + i * PAGE][0] for i in range(4)] == \
                ["present", "guard", "present", "present"]
        mstest.assert_running_untraced(fx.pid)


def test_vm_p_without_pagemap_scan_matches_kernel():
    """The fallback path (batched pagemap reads, kpageflags for marks)."""
    mstest.require_root()
    with Fixture("memfix") as fx:
        pt.check_pages(fx.pid, env={"MEMSCOPE_NO_PAGEMAP_SCAN": "1"})


def expected_text_block(pid, vma, before, said):
    """memscope's text for one mapping's pages, built from the kernel's files
    (pt.settle() for before and said)."""
    truth, entries = pt.page_truth(pid, vma)
    pt.settle(truth, vma["start"], before, said)
    lines = []
    order = ["zero", "thp", "hugetlb", "ksm", "shared", "guard"]
    i = 0
    while i < len(truth):
        state, paddr, marks = truth[i]
        va = vma["start"] + i * PAGE
        if state == "present":
            words = [f"{va:<10x}", f"{paddr:x}"] + [m for m in order if m in marks]
            lines.append("  ".join(words[:2]) + "".join(
                ("  " if j == 0 else " ") + w for j, w in enumerate(words[2:])))
            i += 1
            continue
        j = i
        while j < len(truth) and truth[j][0] == state:
            j += 1
        if state == "file":
            text = f"FILE: {vma['name']}  OFFSET: {vma['offset'] + i * PAGE:x}"
        elif state == "not_mapped":
            text = "(not mapped)"
        else:
            return None  # swap and guard are checked elsewhere
        if j - i > 1:
            text += f"  [{j - i} pages, to {vma['start'] + j * PAGE:x}]"
        lines.append(f"{va:<10x}  {text}")
        i = j
    return lines


def test_vm_p_text_is_crash_format():
    mstest.require_root()
    with Fixture("memfix") as fx:
        for attempt in range(2):
            before = pt.sharing(fx.pid)
            out = memscope("vm", "-p", fx.pid).stdout
            blocks = out.split("\n\n")
            bad = []
            vmas = {v["start"]: v for v in pt.smaps(fx.pid)}
            for block in blocks:
                lines = block.splitlines()
                while lines and not lines[0].split()[0:1] == ["START"]:
                    lines.pop(0)
                if len(lines) < 3:
                    continue
                head = lines[1].split()
                start = int(head[0], 16)
                if start >> 63:
                    continue
                assert lines[2] == "VIRTUAL     PHYSICAL"
                said = {int(w[0], 16): "shared" in w[2:] for w in map(str.split, lines[3:])
                        if re.fullmatch("[0-9a-f]+", w[1])}
                want = expected_text_block(fx.pid, vmas[start], before, said)
                if want is not None and lines[3:] != want:
                    bad.append((start, lines[3:8], want[:5]))
            if not bad:
                break
        assert not bad, bad[:2]
        if fx["guard_ok"]:
            assert f"{fx['guard'] + PAGE:x}  (guard page)\n" in out
        # the untouched region is one line with its count (it lies in a bigger mapping)
        assert re.search(rf"^{fx['anon_untouched']:x}  \(not mapped\)  \[64 pages, to ", out,
                         re.M), out[:2000]
        # no kernel addresses are invented
        assert "TASK:" not in out and " MM " not in out


def test_vm_all_pages_prints_every_page():
    with Fixture("memfix") as fx:
        out = memscope("vm", "-p", "--all-pages", fx.pid).stdout
        for p in range(64):
            va = fx["anon_untouched"] + p * PAGE
            assert re.search(rf"^{va:x}  \(not mapped\)$", out, re.M), va
        assert "pages, to" not in out
        doc = memscope_json("vm", "--all-pages", fx.pid)
        for m in doc["mappings"]:
            assert all(it.get("pages", 1) == 1 for it in m["pages"])


def test_vm_ranges_are_maximal_runs():
    mstest.require_root()
    with Fixture("memfix") as fx:
        # a library page's sharing moves as other tests' processes map and
        # unmap it: where it changed between a read before memscope and one
        # after, memscope's answer stands; compare again on a mismatch
        for attempt in range(4):
            before = pt.sharing(fx.pid)
            doc = memscope_json("vm", "-p", "--ranges", fx.pid)
            problems = []
            vmas = {v["start"]: v for v in pt.smaps(fx.pid)}
            for m in doc["mappings"]:
                start = int(m["start"], 16)
                if start >> 63:
                    continue
                truth, entries = pt.page_truth(fx.pid, vmas[start])
                said = {va: "shared" in marks for va, st, pa, marks, it, k in pt.expand(m)}
                pt.settle(truth, start, before, said)
                # the runs the kernel's pages make: same state and marks, contiguous
                # physical pages (the zero page: the same one)
                want = []
                for i, (state, paddr, marks) in enumerate(truth):
                    if want:
                        w = want[-1]
                        same = w["state"] == state and w["marks"] == marks
                        if same and state == "present":
                            same = paddr == w["paddr"] + w["n"] * PAGE or (
                                paddr == w["paddr"] and "zero" in marks and
                                (w["n"] == 1 or w["same"]))
                            if same and paddr == w["paddr"]:
                                w["same"] = True
                        if same and state == "swap":
                            prev, cur = entries[i - 1], entries[i]
                            same = (cur & 0x1f) == (prev & 0x1f) and \
                                (cur & pt.PFN_MASK) >> 5 == ((prev & pt.PFN_MASK) >> 5) + 1
                        if same:
                            w["n"] += 1
                            continue
                    want.append({"state": state, "paddr": paddr, "marks": marks, "n": 1,
                                 "same": False, "va": start + i * PAGE})
                got = [(int(r["vaddr"], 16), r["pages"], r["state"], set(r.get("marks", [])),
                        int(r["paddr"], 16) if r.get("paddr") else None) for r in m["pages"]]
                exp = [(w["va"], w["n"], w["state"], w["marks"], w["paddr"]) for w in want]
                if got != exp:
                    problems.append((hex(start), got[:4], exp[:4]))
            if not problems:
                break
        assert not problems, problems[:2]
        if thp_ready(fx):
            text = memscope("vm", "-p", "--ranges", fx.pid).stdout
            assert re.search(rf"^{fx['thp']:x}-{fx['thp'] + (2 << 20):x} +512  [0-9a-f]+-[0-9a-f]+"
                             r"  thp$", text, re.M), text


def test_vm_summary_matches_kernel():
    mstest.require_root()
    with Fixture("memfix") as fx:
        for attempt in range(4):  # sharing moves: as in the test above
            before = pt.sharing(fx.pid)
            doc = memscope_json("vm", "--summary", fx.pid)
            after = pt.sharing(fx.pid)
            vmas = {v["start"]: v for v in pt.smaps(fx.pid)}
            problems = []
            total = dict.fromkeys(doc["total"], 0)
            for m in doc["mappings"]:
                start = int(m["start"], 16)
                got = m["pages"]
                if start >> 63:
                    continue  # [vsyscall]: not the process's, nor in TOTAL_VM
                for k in total:
                    total[k] += got[k] or 0
                vma = vmas[start]
                want = pt.summary_truth(fx.pid, vma)
                # pages whose sharing moved while memscope read them: either answer
                moved = sum(1 for va, shared in after.items()
                            if vma["start"] <= va < vma["end"] and before.get(va) != shared)
                if got != want and not ({**got, "shared": 0} == {**want, "shared": 0} and
                                        abs(got["shared"] - want["shared"]) <= moved):
                    problems.append((hex(start), vma["name"], got, want))
                # smaps agrees: Rss is the present pages that are not the zero page
                if vma["name"] == "" or pt.is_file_mapping(vma):
                    rss = vma["fields"]["Rss"] // PAGE
                    if rss != got["present"] - got["zero"]:
                        problems.append((hex(start), "Rss", rss, got))
                    if pt.is_file_mapping(vma):
                        pmd = vma["fields"].get("FilePmdMapped", 0) + \
                            vma["fields"].get("ShmemPmdMapped", 0)
                        assert got["thp"] * PAGE == pmd
            if not problems:
                break
        assert not problems, problems[:3]
        assert total == doc["total"]
        with open(f"/proc/{fx.pid}/status") as f:
            vmsize = int(next(l.split()[1] for l in f if l.startswith("VmSize:")))
        assert doc["total"]["size"] * PAGE // 1024 == vmsize, (doc["total"]["size"], vmsize)
        file_m = next(m for m in doc["mappings"] if m["file"] == fx["file_path"])
        assert file_m["pages"]["cached"] > 0 and file_m["pages"]["present"] >= 16
        shared_m = next(m for m in doc["mappings"] if int(m["start"], 16) == fx["shared"])
        assert shared_m["pages"]["shared"] > 0 and shared_m["pages"]["cached"] == 4
        # text: the same numbers, in KiB (sharing moves: again on a mismatch)
        keys = ["size", "present", "zero", "thp", "ksm", "shared", "swap", "cached",
                "untouched"]
        for attempt in range(4):
            out = memscope("vm", "--summary", fx.pid).stdout.splitlines()
            header = out[3].split()
            assert header[:11] == ["START", "END", "SIZE", "PRESENT", "ZERO", "THP", "KSM",
                                   "SHARED", "SWAP", "CACHED", "UNTOUCHED"]
            total_line = next(line for line in out if line.split()[:1] == ["TOTAL"])
            nums = [int(w[:-1]) for w in total_line.split()[1:]]
            if nums == [doc["total"][k] * PAGE // 1024 for k in keys]:
                break
            doc = memscope_json("vm", "--summary", fx.pid)
        assert nums == [doc["total"][k] * PAGE // 1024 for k in keys], (nums, doc["total"])


def test_vm_unprivileged_hides_physical_addresses():
    with Fixture("memfix", user=NOBODY) as fx:
        p = memscope("vm", "-p", fx.pid, user=NOBODY)
        out = p.stdout
        assert "physical addresses need CAP_SYS_ADMIN" in out
        # present pages say "present", never an invented 0 or any address
        for p_ in range(64):
            va = fx["anon_written"] + p_ * PAGE
            assert re.search(rf"^{va:x}  present$", out, re.M), va
        assert not re.search(r"^[0-9a-f]+  0$", out, re.M)
        assert not re.search(r"^[0-9a-f]+  [0-9a-f]+( |$)", out, re.M)
        doc = memscope_json("vm", "-p", fx.pid, user=NOBODY)
        assert doc["physical_addresses"] is False
        # the zero page and PMD-mapped THP are still told apart (PAGEMAP_SCAN);
        # the truth comes from kpageflags, read here as root. Without root,
        # memscope cannot leave its own mappings out of "shared": it is kept
        # at its prompt while the truth is read, so they count in both, and
        # it must count the shared pages it maps too.
        if os.geteuid() == 0:
            with Prompt(fx.pid, user=NOBODY) as ms:
                # a library page's map count moves as other processes start
                # and exit (other tests run alongside): compare again on a
                # mismatch
                for attempt in range(3):
                    doc = ms.ask("vm -p")
                    problems = pt.compare_pages(fx.pid, doc, root=False,
                                                marks=("zero", "shared"))
                    own = frames_by_offset(ms.pid)
                    uncertain = sum(1 for key, pfn in frames_by_offset(fx.pid).items()
                                    if own.get(key) == pfn and mstest.kpagecount(pfn) > 1)
                    if uncertain != doc["shared_uncertain_pages"]:
                        problems.append(f"{doc['shared_uncertain_pages']} pages uncertain, "
                                        f"{uncertain} shared with memscope")
                    if not problems:
                        break
            assert not problems, problems[:5]
            assert uncertain > 0  # memscope and memfix share libc
            marks = {va: mk for m in doc["mappings"] for va, st, pa, mk, it, k in pt.expand(m)}
            if thp_ready(fx):
                assert all("thp" in marks[fx["thp"] + i * PAGE] for i in range(512))
        # without PAGEMAP_SCAN either: batched pagemap reads, no marks to tell
        doc = memscope_json("vm", "-p", fx.pid, user=NOBODY,
                            env={"MEMSCOPE_NO_PAGEMAP_SCAN": "1"})
        if os.geteuid() == 0:
            problems = pt.compare_pages(fx.pid, doc, root=False, marks=())
            assert not problems, problems[:5]
        s = memscope_json("vm", "--summary", fx.pid, user=NOBODY)
        for m in s["mappings"]:
            assert m["pages"]["present"] + m["pages"]["swap"] + (m["pages"]["cached"] or 0) + \
                m["pages"]["untouched"] == m["pages"]["size"]
        mstest.assert_running_untraced(fx.pid)


def test_vm_bad_input():
    p = memscope("vm", "abc", check=False)
    assert p.returncode == 64 and "invalid process id 'abc'" in p.stderr
    p = memscope("vm", "--summary", "-p", "1", check=False)
    assert p.returncode == 64 and "--summary does not go with" in p.stderr
    p = memscope("vm", "--bogus", check=False)
    assert p.returncode == 64 and "unknown option '--bogus'" in p.stderr
    p = memscope("vm", "1", "2", check=False)
    assert p.returncode == 64
    pid = 4000000
    while os.path.exists(f"/proc/{pid}"):
        pid += 1
    p = memscope("vm", "-p", pid, check=False)
    assert p.returncode == 2 and p.stderr == f"memscope: vm: no process {pid}\n", p.stderr
    # a kernel thread has no user memory
    p = memscope("vm", "-p", "2", check=False)
    assert p.returncode == 2 and "kernel thread" in p.stderr, p.stderr
    with open("/proc/2/stat") as f:  # kthreadd: PF_KTHREAD in its flags, read here
        assert int(f.read().rsplit(")", 1)[1].split()[6]) & 0x00200000
    for args in (("gcore", "2"), ("-p", "2", "bt"), ("-p", "2", "rd", "0x1000")):
        p = memscope(*args, check=False)
        assert p.returncode == 2 and "process 2 is a kernel thread" in p.stderr, (args, p.stderr)
    # a zombie: its memory is gone
    child = subprocess.Popen(["true"])
    for _ in range(100):
        with open(f"/proc/{child.pid}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                break
        time.sleep(0.01)
    try:
        p = memscope("vm", "-p", child.pid, check=False)
        assert p.returncode == 2 and "zombie" in p.stderr, p.stderr
    finally:
        child.wait()
    # an exited process
    p = memscope("vm", child.pid, check=False)
    assert p.returncode == 2 and f"no process {child.pid}" in p.stderr


def exits_during_walk(json_mode, ahead):
    with Fixture("memfix", "--maps", 20000) as fx:
        args = [mstest.MEMSCOPE] + (["--json"] if json_mode else []) + ["vm", "-p", str(fx.pid)]
        env = dict(os.environ, MEMSCOPE_READ_AHEAD=ahead)
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        first = proc.stdout.read(4096)  # memscope is now writing, blocked on the pipe
        os.kill(fx["shared_child"], signal.SIGKILL)
        fx.proc.kill()
        fx.proc.wait()
        os.unlink(fx["file_path"])  # the fixture had no chance to
        rest, err = proc.communicate(timeout=120)
        out = (first + rest).decode()
        return fx, proc.returncode, out, err.decode()


def test_vm_target_exits_during_walk():
    fx, rc, out, err = exits_during_walk(False, "1")
    assert rc == 1, (rc, err)
    assert err == f"memscope: vm: process {fx.pid} exited\n", err
    assert "VIRTUAL     PHYSICAL" in out
    # partial: the walk stopped before the last of the 20000 small mappings
    assert out.count("VIRTUAL     PHYSICAL") < 20000
    fx, rc, out, err = exits_during_walk(True, "0")
    assert rc == 1 and err == f"memscope: vm: process {fx.pid} exited\n", err
    doc = json.loads(out)
    assert doc["error"] == f"process {fx.pid} exited"
    assert len(doc["mappings"]) < 20000


def max_rss_kib(*args):
    proc = subprocess.Popen([mstest.MEMSCOPE, *map(str, args)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, proc.stderr.read()
    return usage.ru_maxrss


def test_vm_memory_stays_bounded():
    """A big target, and one with 60000 mappings: streamed, memscope's own RSS
    stays small."""
    if asan():
        raise mstest.Skip("ASan's shadow memory is not memscope's")
    with Fixture("memfix", "--big", 1024, timeout=120) as fx:
        for args in (["vm", "-p"], ["--json", "vm", "-p"], ["vm", "--summary"]):
            rss = max_rss_kib(*args, fx.pid)
            assert rss < 64 * 1024, f"{args}: {rss} KiB"
    with Fixture("memfix", "--maps", 30000, timeout=120) as fx:
        assert len(mstest.maps(fx.pid)) > 60000
        addr = f"{fx['anon_written']:x}"
        for args in (["vm"], ["vm", "-p"], ["vm", "--summary"], ["vtop", "-c", fx.pid, addr]):
            rss = max_rss_kib(*args, *([] if args[0] == "vtop" else [fx.pid]))
            assert rss < 64 * 1024, f"{args}: {rss} KiB"


def test_vm_terabytes_reserved():
    """A process that reserves 1 TiB and touches 16 pages of it: a few lines, not
    268 million, with the holes counted right."""
    with Fixture("memfix", "--reserve", 1024) as fx:
        base, size = fx["reserve"], fx["reserve_gib"] << 30
        touched = [base + (g << 30) for g in range(0, fx["reserve_gib"], 64)]
        doc = memscope_json("vm", "-p", fx.pid)
        m = next(m for m in doc["mappings"] if int(m["start"], 16) == base)
        items = m["pages"]
        assert len(items) == 2 * len(touched), items[:4]
        for i, va in enumerate(touched):
            assert int(items[2 * i]["vaddr"], 16) == va
            assert items[2 * i]["state"] == "present"
            if mstest.IS_ROOT:
                e = mstest.pagemap(fx.pid, va, 1)[0]
                assert int(items[2 * i]["paddr"], 16) == (e & mstest.PFN_MASK) * PAGE
            gap = items[2 * i + 1]
            assert gap["state"] == "not_mapped" and int(gap["vaddr"], 16) == va + PAGE
            assert gap["pages"] == (64 << 30) // PAGE - 1
        s = memscope_json("vm", "--summary", fx.pid)
        m = next(m for m in s["mappings"] if int(m["start"], 16) == base)
        assert m["pages"]["size"] == size // PAGE
        assert m["pages"]["present"] == len(touched)
        assert m["pages"]["untouched"] == size // PAGE - len(touched)
        out = memscope("vm", "-p", fx.pid).stdout
        assert out.count("\n") < 5000, "one line per run of untouched pages"


class Prompt:
    """memscope at its prompt on pid (--json), kept running so that its own
    mappings can be read while it waits; asked one command at a time."""

    def __init__(self, pid, binary=None, user=None, ok=(0,)):
        self.ok = ok  # exit codes: the last command's
        cmd = [binary or mstest.MEMSCOPE, "--json", "-p", str(pid)]
        if user:
            cmd = mstest.as_user(user, cmd)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        mstest._procs.append(self.proc)
        self.pid = self.proc.pid

    def ask(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.stdin.close()
        rc = self.proc.wait(timeout=30)
        stderr = self.proc.stderr.read()
        if exc[0] is None:
            assert rc in self.ok, stderr
            assert "Sanitizer" not in stderr and "runtime error:" not in stderr, stderr


def frames_by_offset(pid, path=None):
    """{(file, offset): frame} of the file pages pid maps (root)."""
    out = {}
    for start, end, perms, off, name in mstest.maps(pid):
        if not name.startswith("/") or (path and name != path):
            continue
        for i, e in enumerate(mstest.pagemap(pid, start, (end - start) // PAGE)):
            if e & mstest.PM_PRESENT and e & mstest.PM_FILE:
                out[(name, off + i * PAGE)] = e & mstest.PFN_MASK
    return out


# Maps a file twice, privately and read-only, the second time only its
# second half (memscope's code is in the first), reads every page of both,
# says so, and waits for stdin to close.
TWO_MAPPINGS = r"""
import mmap, sys
f = open(sys.argv[1], "rb")
size = mmap.PAGESIZE * (len(f.read()) // mmap.PAGESIZE)
half = mmap.PAGESIZE * (size // mmap.PAGESIZE // 2)
whole = mmap.mmap(f.fileno(), size, mmap.MAP_PRIVATE, mmap.PROT_READ)
back = mmap.mmap(f.fileno(), size - half, mmap.MAP_PRIVATE, mmap.PROT_READ, offset=half)
n = sum(whole[i] for i in range(0, size, mmap.PAGESIZE))
n += sum(back[i] for i in range(0, size - half, mmap.PAGESIZE))
print("ready", flush=True)
sys.stdin.read()
"""


def test_vm_shared_leaves_memscope_out():
    """A page mapped by the target and by memscope itself is the target's
    alone. memscope runs from a copy of its binary, and the target maps that
    copy, so nobody else maps those pages: kpagecount and both processes'
    pagemaps, read while memscope waits at its prompt, say which pages
    memscope maps too."""
    mstest.require_root()
    import shutil
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        copy = os.path.join(d, "memscope")
        shutil.copy(mstest.MEMSCOPE, copy)
        target = subprocess.Popen(["python3", "-c", TWO_MAPPINGS, copy], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        mstest._procs.append(target)
        assert target.stdout.readline() == "ready\n"
        # ptov is partial (1) where a process cannot be read (some machines' PID 1)
        with Prompt(target.pid, binary=copy, ok=(0, 1)) as ms:
            doc = ms.ask("vm -p")
            own = frames_by_offset(ms.pid, copy)
            got = {va: marks for m in doc["mappings"] if m.get("file") == copy
                   for va, state, paddr, marks, item, k in pt.expand(m)}
            ours = others = alone = 0
            both = {}  # whether memscope maps it too -> an address
            for start, end, perms, off, name in mstest.maps(target.pid):
                if name != copy:
                    continue
                entries = mstest.pagemap(target.pid, start, (end - start) // PAGE)
                for i, e in enumerate(entries):
                    assert e & mstest.PM_PRESENT, f"{start + i * PAGE:x} not read"
                    pfn = e & mstest.PFN_MASK
                    count = mstest.kpagecount(pfn)
                    if own.get((copy, off + i * PAGE)) == pfn:
                        both.setdefault(True, start + i * PAGE)  # memscope keeps it
                        count -= 1
                        ours += 1
                        alone += count == 1
                    else:
                        others += 1
                        if i == len(entries) - 1:  # the file's end: never loaded
                            both[False] = start + i * PAGE
                    marks = got[start + i * PAGE]
                    assert ("shared" in marks) == (count > 1), (hex(start + i * PAGE), marks,
                                                                 count)
            # pages memscope maps too, some of them the target's alone
            assert ours and others and alone, (ours, others, alone)
            # vtop says whose mappings its map count has, ptov which is memscope
            assert len(both) == 2, both
            for mine, va in both.items():
                [page] = ms.ask(f"vtop {va:#x}")
                assert page["memscope_maps_it"] == mine, (hex(va), page)
                assert page["map_count"] == mstest.kpagecount(int(page["pfn"], 16))
                doc = ms.ask(f"ptov {page['paddr']}")
                whose = {(m["pid"], m["memscope_itself"]) for m in doc["mappings"]}
                assert (ms.pid, True) in whose if mine else ms.pid not in dict(whose), whose
                assert (target.pid, False) in whose, whose
        target.stdin.close()
        target.wait(timeout=30)


def test_vm_at_the_prompt():
    with Fixture("memfix") as fx:
        p = memscope("-p", fx.pid, input="vm\nvm --summary\nquit\n")
        assert p.stdout.count(f'PID: {fx.pid:<8} COMMAND: "memfix"') == 2
        assert "UNTOUCHED" in p.stdout


if __name__ == "__main__":
    mstest.main()
