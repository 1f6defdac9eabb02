"""One writer per workdir: a live holder blocks a second run, a dead one's lock is taken over."""
import json
import os
import socket
import subprocess
import sys

import pytest

from trainer.util import lock


def test_second_holder_is_refused_with_pid_and_host(tmp_path):
    with lock.workdir_lock(str(tmp_path), "train") as path:
        held = json.load(open(path))
        assert held["pid"] == os.getpid() and held["host"] == socket.gethostname()
        with pytest.raises(lock.LockedError, match=rf"in use by train pid {os.getpid()}"):
            with lock.workdir_lock(str(tmp_path), "train"):
                pass
    assert not os.path.exists(path)  # released


def test_stale_lock_of_a_dead_process_is_taken_over(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    (tmp_path / ".lock").write_text(json.dumps({"pid": pid, "host": socket.gethostname(), "what": "train"}))
    with lock.workdir_lock(str(tmp_path), "train") as path:
        assert json.load(open(path))["pid"] == os.getpid()


def test_lock_from_another_host_is_reported_not_broken(tmp_path):
    (tmp_path / ".lock").write_text(json.dumps({"pid": 1, "host": "other-host", "what": "train"}))
    with pytest.raises(lock.LockedError, match="other-host.*delete the lock file"):
        with lock.workdir_lock(str(tmp_path), "train"):
            pass
