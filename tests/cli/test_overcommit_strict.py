# exclusive: switches vm.overcommit_memory to 2 (and 1) for a few seconds
"""overcommit --what-if in strict mode (2) and in mode 1, against real mmap
attempts of child processes, root and not root. The sysctls are always put
back in `finally`; the window in mode 2 is kept to the few mmaps needed,
because fork and mmap of other processes may fail meanwhile."""
import json

import mstest
from mstest import memscope
from test_overcommit import NOBODY, PAGE, Trier, meminfo, sysctl

GIB = 1 << 30
SETTINGS = ("overcommit_memory", "overcommit_ratio", "overcommit_kbytes",
            "admin_reserve_kbytes", "user_reserve_kbytes")


def write(name, value):
    with open(f"/proc/sys/vm/{name}", "w") as f:
        f.write(f"{value}\n")


def restore(saved):
    # leave strict mode first, then the knobs; ratio and kbytes reset each
    # other when written, so the one in use goes last
    write("overcommit_memory", saved["overcommit_memory"])
    write("admin_reserve_kbytes", saved["admin_reserve_kbytes"])
    write("user_reserve_kbytes", saved["user_reserve_kbytes"])
    if saved["overcommit_kbytes"]:
        write("overcommit_kbytes", saved["overcommit_kbytes"])
    else:
        write("overcommit_ratio", saved["overcommit_ratio"])


def what_if(size, pid, *flags, user=None):
    p = memscope("--json", "overcommit", "--what-if", size, "--pid", pid, "--top", "0",
                 *flags, check=False, user=user)
    assert p.returncode in (0, 1), p.stderr
    doc = json.loads(p.stdout)
    assert (p.returncode == 0) == doc["succeeds"]
    return doc


def test_strict_mode_against_real_mmap():
    mstest.require_root()
    saved = {name: sysctl(name) for name in SETTINGS}
    results = []
    # set up everything that allocates before the strict window opens
    with Trier() as root, Trier(user=NOBODY) as user:
        # 64 GiB of PROT_NONE: not charged, but VmSize/32 = 2 GiB of user reserve
        assert user.grow(64 * GIB)["ok"]
        try:
            write("admin_reserve_kbytes", GIB // 1024)       # 1 GiB for non-root
            write("user_reserve_kbytes", 4 * GIB // 1024)    # caps VmSize/32 at 4 GiB
            # a ratio that leaves 16 GiB of headroom whatever the others hold:
            # strict mode must not starve the other tests running meanwhile
            mi = meminfo()
            ram = mi["MemTotal"] - mi.get("Hugetlb", 0)
            ratio = max(50, -(-(mi["Committed_AS"] + 16 * GIB - mi["SwapTotal"]) * 100 // ram))
            write("overcommit_ratio", ratio)
            write("overcommit_memory", 2)
            mi = meminfo()
            limit, committed = mi["CommitLimit"], mi["Committed_AS"]
            headroom = limit - committed
            assert headroom > 5 * GIB, "too little headroom for the test on this machine"
            # root: no admin reserve, a tiny user reserve
            for size, flags in ((headroom - GIB // 2, ()), (headroom + GIB // 2, ()),
                                (headroom + GIB // 2, ("--noreserve",)),
                                (headroom + GIB // 2, ("--readonly",)),
                                (headroom - GIB // 2, ("--shared",)),
                                (headroom + GIB // 2, ("--shared",))):
                doc = what_if(size, root.pid, *flags)
                names = ",".join(["private"] + [f[2:] for f in flags])
                if "--shared" in flags:
                    names = names.replace("private,", "")
                real = root.map(size, names)
                results.append(("root", size - headroom, flags, doc, real))
            # not root, 2 GiB of user reserve: 3 GiB less than root may map
            for size in (headroom - 3 * GIB - GIB // 2, headroom - 3 * GIB + GIB // 2):
                doc = what_if(size, user.pid, user=NOBODY)
                real = user.map(size)
                results.append(("nobody", size - headroom, (), doc, real))
            # the same size the non-root process is refused, root gets
            size = headroom - 3 * GIB + GIB // 2
            results.append(("root", size - headroom, (), what_if(size, root.pid),
                            root.map(size)))
            computed = memscope("--json", "overcommit", "--top", "0")
        finally:
            restore(saved)
        assert {name: sysctl(name) for name in SETTINGS} == saved
    doc = json.loads(computed.stdout)
    assert doc["commit_limit"]["computed_pages"] == limit // PAGE
    assert doc["commit_limit"]["kernel_pages"] == limit // PAGE
    for who, offset, flags, doc, real in results:
        assert doc["mode"] == 2
        assert doc["succeeds"] == real, \
            f"{who} {offset / GIB:+.1f} GiB {flags}: memscope {doc['reason']}, kernel " \
            f"{'ok' if real else 'ENOMEM'}"
        assert not doc["borderline"]
        if who == "nobody":
            assert doc["process"]["cap_sys_admin"] is False
            assert doc["admin_reserve_pages"] == GIB // PAGE
            assert doc["user_reserve_pages"] == doc["process"]["total_vm_pages"] // 32
        elif doc["charged"]:
            assert doc["admin_reserve_pages"] == 0
    # what the cases prove: the reserves, MAP_NORESERVE ignored, shmem charged
    outcome = [(w, round(o / GIB, 1), f, r) for w, o, f, _, r in results]
    assert outcome == [
        ("root", -0.5, (), True), ("root", 0.5, (), False),
        ("root", 0.5, ("--noreserve",), False), ("root", 0.5, ("--readonly",), True),
        ("root", -0.5, ("--shared",), True), ("root", 0.5, ("--shared",), False),
        ("nobody", -3.5, (), True), ("nobody", -2.5, (), False),
        ("root", -2.5, (), True)], outcome


def test_overcommit_kbytes_and_mode1():
    mstest.require_root()
    saved = {name: sysctl(name) for name in SETTINGS}
    with Trier() as t:
        try:
            write("overcommit_kbytes", 8 * GIB // 1024)
            limit = meminfo()["CommitLimit"]
            doc = json.loads(memscope("--json", "overcommit", "--top", "0").stdout)
            write("overcommit_memory", 1)
            big = what_if(64 << 40, t.pid)
            big_real = t.map(64 << 40)
            huge = what_if(200 << 40, t.pid)
            huge_real = t.map(200 << 40)
        finally:
            restore(saved)
        assert {name: sysctl(name) for name in SETTINGS} == saved
    assert doc["overcommit_kbytes"] == 8 * GIB // 1024
    assert doc["commit_limit"]["basis"] == "overcommit_kbytes"
    assert doc["commit_limit"]["computed_pages"] == limit // PAGE
    # mode 1 never refuses a charge: the address space is all that is left
    assert big["mode"] == 1 and big["charged"]
    assert big["succeeds"] == big_real == True  # noqa: E712
    assert huge["succeeds"] == huge_real == False  # noqa: E712
    assert huge["verdict"] == "larger than the address space"


if __name__ == "__main__":
    mstest.main()
