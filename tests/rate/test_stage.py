"""The one command: --mode=rate serves, add-rater works while it serves, a stop exports to eval/."""
import json
import os
import re
import queue
import signal
import subprocess
import sys
import threading
import time

import requests

from trainer.eval import human
from trainer.rate import cli

from tests.rate.conftest import csrf_of, item_of

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Lines:
    """The stdout lines of a process, read by a thread (a pipe read with select misses buffered lines)."""

    def __init__(self, proc):
        self.queue, self.seen = queue.Queue(), []
        threading.Thread(target=lambda: [self.queue.put(line) for line in proc.stdout], daemon=True).start()

    def until(self, pattern, timeout=90):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                line = self.queue.get(timeout=1.0)
            except queue.Empty:
                continue
            self.seen.append(line)
            if m := re.search(pattern, line):
                return m.group(1)
        raise AssertionError(f"no {pattern!r} in {self.seen}")


def test_mode_rate_serves_adds_raters_live_and_exports_on_stop(workdir, capsys):
    cmd = [sys.executable, "-m", "trainer.main", "--config=configs/tiny_gpt2_lora.py", f"--workdir={workdir}",
           "--mode=rate", "--config.rate.port=0", "--config.eval.n_bootstrap=100"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = Lines(proc)
        admin_link = lines.until(r"organiser link .*: (http://\S+)")
        url = lines.until(r"serving on (http://127\.0\.0\.1:\d+)")

        assert cli.main(["add-rater", f"--workdir={workdir}", "--name=Ana Ruiz"]) == 0
        assert cli.main(["add-rater", f"--workdir={workdir}", "--name=ana ruiz"]) == 2  # names are unique
        # Ben is added from another shell while the page is served.
        out = subprocess.run([sys.executable, "-m", "trainer.rate", "add-rater", f"--workdir={workdir}", "--name=Ben"],
                             cwd=REPO, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        links = {"Ben": out.stdout.split(": ", 1)[1].strip()}
        capsys.readouterr()
        assert cli.main(["new-link", f"--workdir={workdir}", "--name=Ana Ruiz"]) == 0  # her first link was lost
        links["Ana Ruiz"] = capsys.readouterr().out.split(": ", 1)[1].strip()
        assert all(link.startswith(url + "/r/") for link in links.values())

        for name, score in (("Ana Ruiz", 5), ("Ben", 3)):  # two rater links side by side
            s = requests.Session()
            page = s.get(links[name], timeout=10)
            assert page.status_code == 200 and page.url == url + "/rate"
            form = {"csrf_token": csrf_of(page.text), "item_id": item_of(page.text), "action": "save"}
            form.update({d: str(score) for d in human.DIMENSIONS})
            assert s.post(url + "/rate", data=form, timeout=10).status_code == 200
        admin = requests.Session()
        page = admin.get(admin_link, timeout=10)
        assert page.url == url + "/admin" and "Ana Ruiz" in page.text and "Ben" in page.text

        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert sorted(os.listdir(os.path.join(workdir, "eval", "human"))) == ["web-ana-ruiz.csv", "web-ben.csv"]
    with open(os.path.join(workdir, "rate", "ratings.jsonl"), encoding="utf-8") as f:
        assert sorted(json.loads(line)["scores"]["empathy"] for line in f) == [3, 5]
    assert "GET /r/<token> 303" in err and "POST /rate 303" in err
    for link in list(links.values()) + [admin_link]:
        assert link.rsplit("/", 1)[1] not in err  # no token in the server's log
    capsys.readouterr()
    assert cli.main(["list", f"--workdir={workdir}"]) == 0
    listed = capsys.readouterr().out
    assert "Ana Ruiz: 1 rated, 0 skipped" in listed and "Ben: 1 rated" in listed
