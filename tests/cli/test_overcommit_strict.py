# exclusive: switches vm.overcommit_memory to 2 (and 1), and a hugetlb pool, for moments
"""overcommit --what-if in strict mode (2) and in mode 1, against real mmap
attempts of child processes, root and not root. The sysctls are always put
back in `finally`; the window in mode 2 is kept to the few mmaps needed,
because fork and mmap of other processes may fail meanwhile."""
import json
import os

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


def sanitized():
    """An ASan binary reserves terabytes of shadow memory with MAP_NORESERVE,
    which mode 2 charges: it cannot even start there."""
    return "asan" in os.environ.get("MEMSCOPE_VARIANT", "")


def strict_window(root, user):
    """One short stay in mode 2: the cases, and how far Committed_AS moved."""
    results = []
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
    drift = 0

    def case(who, trier, size, *flags, user=None):
        nonlocal drift
        names = ",".join(["private"] + [f[2:] for f in flags]).replace("private,shared",
                                                                        "shared")
        # memscope, then the kernel, a few milliseconds apart; another process
        # mapping hundreds of MiB in between can split them, so a disagreement
        # is asked again: a wrong model disagrees every time
        for _ in range(3):
            doc = what_if(size, trier.pid, *flags, user=user)
            real = trier.map(size, names)
            drift = max(drift, abs(meminfo()["Committed_AS"] - committed))
            if doc["succeeds"] == real:
                break
        results.append((who, round((size - headroom) / GIB, 1), flags, doc, real))

    # root: no admin reserve, a tiny user reserve
    case("root", root, headroom - GIB // 2)
    case("root", root, headroom + GIB // 2)
    case("root", root, headroom + GIB // 2, "--noreserve")
    case("root", root, headroom + GIB // 2, "--readonly")
    case("root", root, headroom - GIB // 2, "--shared")
    case("root", root, headroom + GIB // 2, "--shared")
    # not root, 2 GiB of user reserve: 3 GiB less than root may map
    case("nobody", user, headroom - 3 * GIB - GIB // 2, user=NOBODY)
    case("nobody", user, headroom - 3 * GIB + GIB // 2, user=NOBODY)
    # the size the non-root process is refused, root gets
    case("root", root, headroom - 3 * GIB + GIB // 2)
    computed = json.loads(memscope("--json", "overcommit", "--top", "0").stdout)
    return results, drift, limit, computed


def test_strict_mode_against_real_mmap():
    mstest.require_root()
    if sanitized():
        raise mstest.Skip("an ASan binary cannot start in mode 2 (its shadow reservation "
                          "is charged: MAP_NORESERVE is ignored there)")
    saved = {name: sysctl(name) for name in SETTINGS}
    # set up everything that allocates before the strict window opens
    with Trier() as root, Trier(user=NOBODY) as user:
        # 64 GiB of PROT_NONE: not charged, but VmSize/32 = 2 GiB of user reserve
        assert user.grow(64 * GIB)["ok"]
        for attempt in range(3):
            try:
                results, drift, limit, computed = strict_window(root, user)
            finally:
                restore(saved)
            assert {name: sysctl(name) for name in SETTINGS} == saved
            # memscope and the kernel answered at the same moment: they must agree
            for who, offset, flags, doc, real in results:
                assert doc["mode"] == 2
                assert doc["succeeds"] == real, \
                    f"{who} {offset:+.1f} GiB {flags}: memscope {doc['reason']}, kernel " \
                    f"{'ok' if real else 'ENOMEM'}"
                if who == "nobody":
                    assert doc["process"]["cap_sys_admin"] is False
                    assert doc["admin_reserve_pages"] == GIB // PAGE
                    assert doc["user_reserve_pages"] == doc["process"]["total_vm_pages"] // 32
                elif doc["charged"]:
                    assert doc["admin_reserve_pages"] == 0
            assert computed["commit_limit"]["computed_pages"] == limit // PAGE
            assert computed["commit_limit"]["kernel_pages"] == limit // PAGE
            if drift < GIB // 4:
                break
        else:
            raise mstest.Skip("Committed_AS moved by more than 256 MiB in every window "
                              "(other work on the machine): outcomes not judged")
    # with Committed_AS still, what the cases prove: the reserves, MAP_NORESERVE
    # ignored in mode 2, shmem charged
    outcome = [(w, o, f, r) for w, o, f, d, r in results]
    assert outcome == [
        ("root", -0.5, (), True), ("root", 0.5, (), False),
        ("root", 0.5, ("--noreserve",), False), ("root", 0.5, ("--readonly",), True),
        ("root", -0.5, ("--shared",), True), ("root", 0.5, ("--shared",), False),
        ("nobody", -3.5, (), True), ("nobody", -2.5, (), False),
        ("root", -2.5, (), True)], outcome
    assert not any(d["borderline"] for _, _, _, d, _ in results)


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


def test_hugetlb_pool_in_limit_and_kmem():
    """RAM less hugetlb pages: with a pool of 2 MiB pages reserved, the
    computed CommitLimit must still equal the kernel's, and kmem -i must
    count the pool."""
    mstest.require_root()
    pool = "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
    with open(pool) as f:
        saved = int(f.read())
    try:
        with open(pool, "w") as f:
            f.write(f"{saved + 16}\n")
        with open(pool) as f:
            got = int(f.read())
        if got == saved:
            raise mstest.Skip("no 2 MiB page could be reserved (fragmented memory)")
        mi = meminfo()
        oc = json.loads(memscope("--json", "overcommit").stdout)
        km = json.loads(memscope("--json", "kmem", "-i").stdout)
        free = int(open("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages").read())
    finally:
        with open(pool, "w") as f:
            f.write(f"{saved}\n")
    assert oc["commit_limit"]["hugetlb_pages"] == mi["Hugetlb"] // PAGE
    assert oc["commit_limit"]["hugetlb_pages"] >= (got - saved) * 512
    assert oc["commit_limit"]["computed_pages"] == mi["CommitLimit"] // PAGE
    assert km["total_huge"]["pages"] == mi["Hugetlb"] // PAGE
    assert km["huge_free"]["pages"] >= free * 512


if __name__ == "__main__":
    mstest.main()
