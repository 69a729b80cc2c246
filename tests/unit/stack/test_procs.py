import subprocess
import sys
import time

from stack.procs import Proc

# Says what SIGTERM disposition it inherited, then takes SIGTERM itself whatever that was (a test session's
# libraries may leave it ignored or blocked, which an exec'd `sleep` would inherit), and says it got it.
SLEEPER = """import signal, sys, time
inherited = (signal.getsignal(signal.SIGTERM), sorted(signal.pthread_sigmask(signal.SIG_BLOCK, [])))
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
signal.signal(signal.SIGTERM, lambda *_: (print("got-sigterm", flush=True), sys.exit(0)))
print("hello-from-sleeper", inherited, flush=True)
time.sleep(60)
"""


def test_started_process_is_known_by_its_pid_file_and_stopped(tmp_path):
    proc = Proc("sleeper", tmp_path / "run", tmp_path / "logs")
    started = proc.start([sys.executable, "-c", SLEEPER], cwd=tmp_path)

    assert proc.pid() == started.pid
    deadline = time.monotonic() + 10
    while "hello-from-sleeper" not in proc.log_tail() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.stop(timeout=10) is True
    started.wait(timeout=10)
    assert proc.pid() is None
    assert not proc.pid_file.exists()
    assert "hello-from-sleeper" in proc.log_tail()
    assert "got-sigterm" in proc.log_tail(), proc.log_tail()  # SIGTERM first, sent to its process group
    assert started.returncode == 0


def test_a_pid_now_held_by_another_program_is_never_signalled(tmp_path):
    stranger = subprocess.Popen(["sleep", "60"])
    try:
        proc = Proc("ghost", tmp_path / "run", tmp_path / "logs")
        proc.pid_file.parent.mkdir(parents=True)
        proc.pid_file.write_text(f"{stranger.pid} 12345\n")  # same pid, another start time

        assert proc.pid() is None
        assert proc.stop(timeout=1) is False
        time.sleep(0.2)
        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait()
