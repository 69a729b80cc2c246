import subprocess
import time

from stack.procs import Proc


def test_started_process_is_known_by_its_pid_file_and_stopped(tmp_path):
    proc = Proc("sleeper", tmp_path / "run", tmp_path / "logs")
    started = proc.start(["sh", "-c", "echo hello-from-sleeper; exec sleep 60"], cwd=tmp_path)

    assert proc.pid() == started.pid
    deadline = time.monotonic() + 10
    while "hello-from-sleeper" not in proc.log_tail() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.stop(timeout=10) is True
    started.wait(timeout=10)
    assert proc.pid() is None
    assert not proc.pid_file.exists()
    assert "hello-from-sleeper" in proc.log_tail()
    assert started.returncode == -15  # SIGTERM, sent to its process group


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
