import threading
import time

from support.stack_lock import stack_lock


def hold(tmp_path, exclusive: bool, entered: threading.Event, leave: threading.Event) -> threading.Thread:
    def run() -> None:
        with stack_lock(exclusive, tmp_path):
            entered.set()
            leave.wait(10)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_shared_holders_run_together(tmp_path):
    first, second, leave = threading.Event(), threading.Event(), threading.Event()
    threads = [hold(tmp_path, False, first, leave), hold(tmp_path, False, second, leave)]
    assert first.wait(5) and second.wait(5)
    leave.set()
    for t in threads:
        t.join(5)


def test_an_exclusive_holder_waits_for_shared_ones_and_then_keeps_new_ones_out(tmp_path):
    shared_in, leave_shared = threading.Event(), threading.Event()
    reader = hold(tmp_path, False, shared_in, leave_shared)
    assert shared_in.wait(5)
    writer_in, leave_writer = threading.Event(), threading.Event()
    writer = hold(tmp_path, True, writer_in, leave_writer)
    time.sleep(0.3)
    assert not writer_in.is_set()  # a test in flight keeps the stack
    late_in, leave_late = threading.Event(), threading.Event()
    late = hold(tmp_path, False, late_in, leave_late)
    time.sleep(0.3)
    assert not late_in.is_set()  # queued behind the waiting exclusive holder (the turnstile)
    leave_shared.set()
    assert writer_in.wait(5)
    time.sleep(0.3)
    assert not late_in.is_set()  # nothing shared while the stack is held alone
    leave_writer.set()
    assert late_in.wait(5)
    leave_late.set()
    for t in (reader, writer, late):
        t.join(5)
