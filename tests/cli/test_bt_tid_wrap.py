"""bt on a process whose thread ids wrapped around pid_max while its threads
were created: gdb numbers threads in the order /proc/PID/task lists them
(creation order), which is then not the order of their ids.
"""
# exclusive: writes /proc/sys/kernel/ns_last_pid (the next process id of
# everyone) so that the fixture's thread ids wrap; nothing to restore.
import os

import mstest
import test_bt as btcmp


def wrapped_fixture(workers):
    """A btfix-O2 fixture whose thread ids wrap around midway."""
    with open("/proc/sys/kernel/pid_max") as f:
        pid_max = int(f.read())
    for _ in range(10):
        with open("/proc/sys/kernel/ns_last_pid", "w") as f:
            f.write(str(pid_max - workers // 2))
        fx = btcmp.Fixture("btfix-O2", workers)
        tids = [int(t) for t in os.listdir(f"/proc/{fx.pid}/task")]
        if any(b < a for a, b in zip(tids, tids[1:])):
            return fx, tids
        fx.stop()  # someone else took the ids: try again
    raise AssertionError("the thread ids never wrapped")


def test_thread_numbers_after_ids_wrap():
    mstest.require_root()
    fx, tids = wrapped_fixture(6)
    with fx:
        want = btcmp.gdb_bt("-p", fx.pid, full=False)
        mstest.assert_running_untraced(fx.pid)
        got = mstest.memscope("-p", fx.pid, "bt").stdout
        mstest.assert_running_untraced(fx.pid)
        threads = btcmp.assert_same_threads(want, got)
        assert sorted(threads) == sorted(tids), (sorted(threads), tids)


if __name__ == "__main__":
    mstest.main()
