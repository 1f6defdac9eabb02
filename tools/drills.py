"""Failure drills (issue #18): break things on purpose and check what the user sees.

    python tools/drills.py [--quick] [--keep DIR] [--only NAME,NAME] [--skip NAME,NAME]

Runs each drill end to end through the real entry point (`python -m trainer.main`) on the tiny
configs and prints a table: drill, expectation, result. Exits 1 if any drill fails; a drill
that cannot run here (no `unshare`) is SKIP with the reason, never a silent pass.
`--quick` leaves out the three-process resume drill (tests/train/test_sft.py runs the same check);
everything else takes a few minutes on 2 CPU cores. `--only` / `--skip` pick drills by name.

Cost is processes (each pays TensorFlow's import, a model build and the de-identifier's start),
so drills share them: the offline drill's prepared, trained and exported workdir is what the
file-mode, raw-identifier, serving, checkpoint-fallback, metrics and corrupt-adapter drills read
(the fallback drill on a copy). Training runs without XLA (`train.xla=off`, as is the export's
decode loop): compiling costs more than the few steps a drill trains and no drill is about XLA.

Drills: all-unusable input; corrupt / truncated / not-gzip .gz; a non-UTF-8 training line in
reject mode (PHI gate on); a truncated newest checkpoint (falls back); a damaged last line of
metrics.jsonl (repaired); a corrupt adapter given to export (refused); a second training on a
busy workdir (lock); ENOSPC while writing a checkpoint (injected); resume after SIGKILL (same
adapter as an uninterrupted run, dropout on); prepare + train + export with no network
(`unshare -n`); file modes 0600/0700; raw identifiers grepped over every file of a prepared
workdir and its logs; a bad-JSON serving request with identifiers (no echo).
"""
from __future__ import annotations

import argparse
import errno
import gzip
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from typing import Callable

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)
PY = sys.executable
BASE_CONFIG = os.path.join(REPO, "configs", "tiny_gpt2_lora.py")
SAMPLE = os.path.join(REPO, "trainer", "assets", "sample", "clean_train.jsonl")
# Small and fast: 4-row batches, a checkpoint every 2 steps, dropout on (the main config's 0.05),
# no XLA (a compile costs far more than the few steps a drill trains).
TRAIN = ["--config.train.batch_size=4", "--config.train.checkpoint_every=2", "--config.train.log_every=2",
         "--config.train.eval_every=0", "--config.lora.dropout=0.05", "--config.train.xla=off"]
EXPORT = ["--config.export.max_new_tokens=4", "--config.export.max_new_tokens_cap=16",
          "--config.export.max_prompt_tokens=64", "--config.export.warmup_batch_sizes=(1,)",
          "--config.export.jit_compile=False"]
PIPELINE_STEPS = 4  # the shared workdir's training: checkpoints at 2 and 4
PIPELINE_RECORDS = 80  # generated raw messages for the shared workdir (~20 kept: enough for 4 steps of 4)
# Identifiers placed in a serving request; the error must not repeat them.
REQUEST_IDENTIFIERS = ("Zelphine Quartermaine", "MRN 80417731", "1957-03-14")


class DrillFailed(AssertionError):
    pass


class Skip(Exception):
    pass


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children: what a drill costs on a loaded machine."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def check(condition: bool, message: str) -> None:
    if not condition:
        raise DrillFailed(message)


def one_line_error(proc: subprocess.CompletedProcess, *expected: str) -> str:
    """Exit 2, no traceback, and the last stderr line is one `carelora: ...` line holding `expected`."""
    err = proc.stderr or ""
    check(proc.returncode == 2, f"exit {proc.returncode}, expected 2; stderr: {err[-600:]}")
    check("Traceback" not in err, f"a traceback: {err[-600:]}")
    last = [line for line in err.splitlines() if line.strip()][-1]
    check(last.startswith("carelora: "), f"last line is not one carelora error: {last[:300]}")
    for text in expected:
        check(text in last, f"{text!r} not in {last[:300]}")
    return last


class Drills:
    def __init__(self, root: str, quick: bool):
        self.root, self.quick = root, quick
        self.results: list[tuple[str, str, str, str, float, float]] = []
        self.raw_dir = os.path.join(root, "raw")
        self.pipeline_work = os.path.join(root, "w_offline")  # shared: see the module docstring
        self.pipeline_log = ""
        self.config = self._write_config()
        self.small = self._small_train_file()

    # --- helpers ---------------------------------------------------------------------------
    def _write_config(self) -> str:
        """The tiny GPT-2 config with the generated clinic's clinicians and organizations."""
        path = os.path.join(self.root, "drill_config.py")
        with open(path, "w", encoding="utf-8") as f:
            f.write(
                "import importlib.util, json, os\n"
                "def get_config():\n"
                f"    spec = importlib.util.spec_from_file_location('base', {BASE_CONFIG!r})\n"
                "    mod = importlib.util.module_from_spec(spec)\n"
                "    spec.loader.exec_module(mod)\n"
                "    c = mod.get_config()\n"
                f"    clinic = os.path.join({self.root!r}, 'raw', 'clinic.json')\n"
                "    if os.path.exists(clinic):\n"
                "        names = json.load(open(clinic, encoding='utf-8'))\n"
                "        c.prepare.deid.clinician_names = names['clinician_names']\n"
                "        c.prepare.deid.org_names = names['org_names']\n"
                "    return c\n")
        return path

    def _small_train_file(self) -> str:
        """24 examples of the shipped synthetic sample, copied (so it is an arbitrary file)."""
        path = os.path.join(self.root, "small_train.jsonl")
        with open(SAMPLE, encoding="utf-8") as f:
            lines = [line for line in f if line.strip()][:24]
        with open(path, "w", encoding="utf-8") as f:
            f.writelines(lines)
        return path

    def carelora(self, workdir: str, *args: str, timeout: int = 600, unshare: bool = False,
                 popen: bool = False):
        cmd = [PY, "-m", "trainer.main", f"--config={self.config}", f"--workdir={workdir}", *args]
        if unshare:
            cmd = ["unshare", "-n", *cmd]
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
        if popen:  # output to a file: an unread pipe would stall the child once it fills
            log_path = os.path.join(self.root, os.path.basename(workdir) + ".log")
            with open(log_path, "wb") as log:
                proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL)
            proc.log_path = log_path
            return proc
        return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)

    def train_on_sample(self, workdir: str, steps: int, *extra: str, **kw):
        return self.carelora(workdir, "--mode=train", f"--config.data.train_file={self.small}",
                             f"--config.train.steps={steps}", "--config.train.phi_gate.allow_synthetic=True",
                             *TRAIN, *extra, **kw)

    def run(self, name: str, expectation: str, fn: Callable[[], str]) -> None:
        t0, cpu0 = time.time(), _cpu_seconds()
        try:
            detail, result = fn() or "", "PASS"
        except Skip as e:
            detail, result = str(e), "SKIP"
        except DrillFailed as e:
            detail, result = str(e), "FAIL"
        except Exception as e:  # a broken drill is a failure too, with where it broke
            detail, result = f"{type(e).__name__}: {e} ({traceback.format_exc(limit=-1).splitlines()[-2].strip()})", "FAIL"
        wall, cpu = time.time() - t0, _cpu_seconds() - cpu0
        self.results.append((name, expectation, result, detail, wall, cpu))
        print(f"[{result}] {name} ({wall:.0f}s, {cpu:.0f} CPU s): {detail[:300]}", file=sys.stderr, flush=True)

    # --- prepare -------------------------------------------------------------------------------
    def all_unusable(self) -> str:
        raw = os.path.join(self.root, "unusable.jsonl")
        with open(raw, "wb") as f:
            f.write(b"\x00\xff\xfe binary \x81\x82\n" * 30 + b"not json at all\n")
        work = os.path.join(self.root, "w_unusable")
        proc = self.carelora(work, "--mode=prepare", f"--config.prepare.inputs={raw}")
        last = one_line_error(proc, "no usable record in 1 input file(s)", "ledger.jsonl")
        report = json.load(open(os.path.join(work, "data", "prepare_report.json"), encoding="utf-8"))
        check(report["accounting_ok"] and report["records_in"] == 31 and report["rejected"] == 31,
              f"report does not account for 31 lines: {report.get('records_in')}, {report.get('rejected')}")
        return last[:120]

    def damaged_gzip(self) -> str:
        lines = [json.dumps({"id": f"z{i}", "patient_id": f"P-9{i:03d}", "channel": "sms", "direction": "outbound",
                             "task": "lab_results_ready",
                             "text": f"Hello, your lab results from visit {i} are ready in the patient portal. "
                                     "Please log in to review them."}) for i in range(300)]
        packed = gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0)
        cut = os.path.join(self.root, "cut.jsonl.gz")
        with open(cut, "wb") as f:
            f.write(packed[: len(packed) // 2])
        garbage = os.path.join(self.root, "garbage.jsonl.gz")
        with open(garbage, "wb") as f:
            f.write(b"this was never gzip\n" * 5)
        work = os.path.join(self.root, "w_gzip")
        proc = self.carelora(work, "--mode=prepare", f"--config.prepare.inputs={cut},{garbage}")
        # Nothing of garbage.jsonl.gz could be read: the run says so in one line and exits 2, after
        # writing the ledger and report with what the cut archive gave.
        last = one_line_error(proc, f"could not read input {garbage}", "not a gzip file", "ledger.jsonl")
        check("cut short" in proc.stderr and cut in proc.stderr, "no warning about the cut archive")
        ledger = [json.loads(line) for line in open(os.path.join(work, "data", "ledger.jsonl"), encoding="utf-8")]
        damaged = [r for r in ledger if r.get("error") == "truncated_archive"]
        check(len(damaged) == 2, f"{len(damaged)} truncated_archive rejects, expected one per damaged file")
        check(all("compressed byte" in r.get("detail", "") for r in damaged), "no byte offset in the reason")
        check([r["source"] for r in damaged if r.get("whole_file")] == [garbage], "the unreadable file is not marked")
        kept_lines = [r for r in ledger if r["source"] == cut and r.get("error") != "truncated_archive"]
        check(0 < len(kept_lines) < 300, f"{len(kept_lines)} records read before the cut")
        report = json.load(open(os.path.join(work, "data", "prepare_report.json"), encoding="utf-8"))
        check(report["accounting_ok"], "accounting broken")
        return (f"{len(kept_lines)} of 300 records read before the cut; 2 truncated_archive rejects with offsets; "
                f"{last[:80]}")

    # --- training --------------------------------------------------------------------------------
    def non_utf8_reject(self) -> str:
        bad = os.path.join(self.root, "train_with_bad_lines.jsonl")
        with open(self.small, "rb") as f:
            data = f.read()
        with open(bad, "wb") as f:
            f.write(data + b'{"id": "bad1", "task": "lab_results_ready", "response": "Hola Mar\xeda"}\n'
                    + b'{"id": "bad2", "task": "lab_results_ready", "resp\n')
        work = os.path.join(self.root, "w_reject")
        # The PHI gate runs (max_rate 1: it scans and reports, the synthetic names do not stop it).
        proc = self.carelora(work, "--mode=train", f"--config.data.train_file={bad}", "--config.data.on_error=reject",
                             "--config.train.steps=2", "--config.train.phi_gate.max_rate=1.0",
                             "--config.train.phi_gate.second_check=False", *TRAIN)
        check(proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr[-800:]}")
        check("PHI gate" in proc.stderr and "unreadable line(s) not scanned" in proc.stderr,
              "the PHI gate did not run over the file or did not report the skipped lines")
        rejects = [json.loads(line) for line in open(os.path.join(work, "rejects.jsonl"), encoding="utf-8")]
        errors = {r["line"]: r["error"] for r in rejects}
        check(len(rejects) == 2 and "not UTF-8" in errors.get(25, ""), f"rejects: {errors}")
        return f"trained; rejects.jsonl: {errors}"

    def lock(self) -> str:
        from trainer.util import lock

        work = os.path.join(self.root, "w_lock")
        with lock.workdir_lock(work, "train"):
            proc = self.train_on_sample(work, 2)
        return one_line_error(proc, "is in use by train pid", f"{os.getpid()}")[:120]

    def enospc(self) -> str:
        import numpy as np

        from trainer.train import checkpoints
        from trainer.util.errors import UserError

        class Var:
            def __init__(self, value):
                self.value = np.asarray(value, np.float32)

            def numpy(self):
                return self.value

        d = os.path.join(self.root, "w_enospc", "checkpoints")
        good = checkpoints.save(d, 2, [Var([1.0, 2.0])], [Var([0.5])], {"tokens_seen": 1})
        real = np.savez

        def full_disk(*a, **k):
            raise OSError(errno.ENOSPC, "No space left on device")

        np.savez = full_disk
        try:
            checkpoints.save(d, 4, [Var([3.0, 4.0])], [Var([0.7])], {"tokens_seen": 2})
        except UserError as e:
            message = str(e)
        else:
            raise DrillFailed("a full disk raised nothing")
        finally:
            np.savez = real
        check("could not write checkpoint" in message and "ckpt-00000004.npz" in message
              and "No space left" in message and "\n" not in message, message)
        check(os.listdir(d) == [os.path.basename(good)], f"left behind: {os.listdir(d)}")
        meta, _ = checkpoints.read(good)
        check(meta["step"] == 2, "the previous checkpoint is damaged")
        return message[:140]

    def resume_and_faults(self) -> list[tuple[str, str, Callable[[], str]]]:
        """Resume after SIGKILL == uninterrupted; then, on a copy of the shared pipeline workdir:
        truncated newest checkpoint + cut-off metrics line -> fallback and repair; and its adapter
        cut short -> export refused."""
        steps = PIPELINE_STEPS
        kill_steps = 200  # long enough that the kill lands mid-run (a tiny step takes milliseconds)
        killed = os.path.join(self.root, "w_killed")
        state: dict = {}

        def kill_resume() -> str:
            import numpy as np

            from trainer.train import checkpoints

            proc = self.train_on_sample(killed, kill_steps, popen=True)
            deadline = time.time() + 300
            while time.time() < deadline and proc.poll() is None:
                found = checkpoints.latest(os.path.join(killed, "checkpoints"))
                if found and found[0] >= 4:
                    break
                time.sleep(0.05)
            check(proc.poll() is None, "training ended before it could be killed: "
                  + open(proc.log_path, encoding="utf-8", errors="replace").read()[-600:])
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            at = checkpoints.latest(os.path.join(killed, "checkpoints"))[0]
            check(at < kill_steps, f"the run finished before the kill (checkpoint {at}, seen {found})")
            second = self.train_on_sample(killed, kill_steps)
            check(second.returncode == 0 and f"at step {at}" in second.stderr, second.stderr[-600:])
            uninterrupted = os.path.join(self.root, "w_uninterrupted")
            third = self.train_on_sample(uninterrupted, kill_steps)
            check(third.returncode == 0, third.stderr[-600:])
            a = np.load(os.path.join(killed, "adapter", "adapter.npz"))
            b = np.load(os.path.join(uninterrupted, "adapter", "adapter.npz"))
            worst = max(float(np.max(np.abs(a[k] - b[k]))) for k in a.files if k != "__metadata__")
            check(worst <= 1e-5, f"adapters differ by up to {worst:g}")
            return f"killed at step {at}, resumed; max |resumed - uninterrupted| = {worst:.1e} (dropout 0.05)"

        def fallback_and_metrics() -> str:
            shared = self.need_pipeline()
            work = os.path.join(self.root, "w_fallback")
            shutil.copytree(shared, work)
            newest = os.path.join(work, "checkpoints", f"ckpt-{steps:08d}.npz")
            check(os.path.exists(newest.replace(f"{steps:08d}", f"{steps - 2:08d}")),
                  "the shared run kept no earlier checkpoint to fall back to")
            with open(newest, "r+b") as f:
                f.truncate(os.path.getsize(newest) // 2)
            with open(os.path.join(work, "metrics.jsonl"), "a", encoding="utf-8") as f:
                f.write(f'{{"step": {steps + 2}, "lo')  # a power cut mid-line
            # The same run continued (its prepared data); the gate already passed this data in the
            # shared run, and generated data is synthetic, so it is not scanned again here.
            proc = self.carelora(work, "--mode=train", f"--config.train.steps={steps}", *TRAIN,
                                 "--config.train.phi_gate.allow_synthetic=True")
            check(proc.returncode == 0, proc.stderr[-800:])
            check("setting it aside" in proc.stderr and f"at step {steps - 2}" in proc.stderr,
                  "no fallback warning / not resumed from the previous checkpoint: " + proc.stderr[-600:])
            check(os.path.exists(newest + ".corrupt"), "the damaged checkpoint was not set aside")
            state["metrics"] = proc.stderr
            return f"resumed from ckpt-{steps - 2:08d} with a warning; damaged file kept as *.corrupt"

        def metrics_repaired() -> str:
            check("metrics" in state, "the fallback drill did not run")
            check("damaged line dropped" in state["metrics"], "no warning about the damaged metrics line")
            rows = [json.loads(line) for line in open(os.path.join(self.root, "w_fallback", "metrics.jsonl"),
                                                       encoding="utf-8")]
            check(rows and rows[-1]["step"] == steps, f"metrics end at {rows[-1] if rows else None}")
            return f"warning, line dropped; {len(rows)} rows parse, last step {steps}"

        def corrupt_adapter() -> str:
            shared = self.need_pipeline()
            work = os.path.join(self.root, "w_bad_adapter")
            os.makedirs(os.path.join(work, "adapter"))
            with open(os.path.join(shared, "adapter", "adapter.npz"), "rb") as f:
                data = f.read()
            with open(os.path.join(work, "adapter", "adapter.npz"), "wb") as f:
                f.write(data[: len(data) // 3])
            proc = self.carelora(work, "--mode=export", *EXPORT)
            return one_line_error(proc, "not a readable carelora adapter", "adapter.npz")[:140]

        drills = []
        if not self.quick:
            drills.append(("resume after SIGKILL", "same adapter as an uninterrupted run, dropout on", kill_resume))
        drills += [
            ("truncated newest checkpoint", "warning, previous checkpoint used, never step 0", fallback_and_metrics),
            ("damaged metrics.jsonl last line", "warning, line dropped, run goes on", metrics_repaired),
            ("corrupt adapter to export", "one line naming the file, exit 2", corrupt_adapter),
        ]
        return drills

    # --- offline pipeline and PHI hygiene -------------------------------------------------------
    def run_pipeline(self, unshare: bool) -> subprocess.CompletedProcess:
        """prepare + train + export of a generated clinic export: the workdir other drills read."""
        subprocess.run([PY, os.path.join(REPO, "tools", "make_sample_data.py"), "--out_dir", self.raw_dir,
                        "--n", str(PIPELINE_RECORDS), "--seed", "1"], check=True, capture_output=True, timeout=120)
        proc = self.carelora(self.pipeline_work, "--mode=prepare,train,export",
                             f"--config.prepare.inputs={self.raw_dir}/raw.jsonl",
                             f"--config.train.steps={PIPELINE_STEPS}", *TRAIN, *EXPORT, unshare=unshare)
        self.pipeline_log = proc.stdout + proc.stderr
        return proc

    def need_pipeline(self) -> str:
        """The shared workdir; built here (network on) when the offline drill was not selected."""
        if not os.path.exists(os.path.join(self.pipeline_work, "export")):
            proc = self.run_pipeline(unshare=False)
            check(proc.returncode == 0, f"the shared pipeline failed, exit {proc.returncode}: {proc.stderr[-800:]}")
        return self.pipeline_work

    def offline_pipeline(self) -> list[tuple[str, str, Callable[[], str]]]:
        raw_dir = self.raw_dir
        work = self.pipeline_work

        def pipeline() -> str:
            can = shutil.which("unshare") and subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0
            proc = self.run_pipeline(unshare=bool(can))
            check(proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr[-800:]}")
            check(os.path.exists(os.path.join(work, "export", "carelora", "1", "saved_model.pb")), "no export")
            if not can:
                raise Skip("unshare -n is not available here (needs root or user namespaces): the pipeline ran "
                           "with the network on, so 'offline' is not proven")
            return "prepare, train, export passed in a network namespace without network"

        def file_modes() -> str:
            check(os.path.isdir(work), "the pipeline drill did not run")
            bad, n = [], 0
            for folder, _, names in os.walk(work):
                if os.stat(folder).st_mode & 0o077:
                    bad.append(f"{folder} {oct(os.stat(folder).st_mode & 0o777)}")
                for name in names:
                    n += 1
                    mode = os.stat(os.path.join(folder, name)).st_mode & 0o777
                    if mode & 0o077:
                        bad.append(f"{os.path.join(folder, name)} {oct(mode)}")
            check(not bad, f"{len(bad)} not owner-only: {bad[:5]}")
            return f"{n} files 0600, folders 0700 (whatever the shell's umask)"

        def raw_grep() -> str:
            check(os.path.isdir(work), "the pipeline drill did not run")
            # Identifiers of the generated input (its gold file) that must not survive anywhere:
            # patient ids (only salted keys may appear), MRNs, SSNs, e-mails, plan, account,
            # licence and vehicle numbers, and patients' full names. (Single first names are left
            # out: a surrogate or a word of the tokenizer's vocabulary can spell one too; phones
            # too: the clinic's own callback numbers stay by design.)
            clinic = json.load(open(os.path.join(raw_dir, "clinic.json"), encoding="utf-8"))
            staff = {w.lower() for n in clinic["clinician_names"] + clinic["org_names"] for w in n.split()}
            secrets = {json.loads(line)["patient_id"] for line in open(os.path.join(raw_dir, "raw.jsonl"), encoding="utf-8")}
            for line in open(os.path.join(raw_dir, "gold.jsonl"), encoding="utf-8"):
                gold = json.loads(line)
                for span in gold["spans"]:
                    text = gold["text"][span["start"]:span["end"]]
                    full_name = span["type"] == "NAME" and len(text.split()) >= 2 and not set(text.lower().split()) & staff
                    if len(text) >= 6 and (full_name or span["type"] in (
                            "MRN", "SSN", "EMAIL", "HEALTH_PLAN", "ACCOUNT", "IP", "LICENSE", "VEHICLE", "FAX")):
                        secrets.add(text)
            allowed = {os.path.join(work, "data", "rejects.jsonl"), os.path.join(work, "data", "ledger.jsonl"),
                       os.path.join(work, "rejects.jsonl")}  # README: the only files that may hold raw text
            hits, scanned = [], 0
            blobs = [("<the run's log>", self.pipeline_log.encode())]
            for folder, _, names in os.walk(work):
                for name in names:
                    path = os.path.join(folder, name)
                    if path not in allowed:
                        with open(path, "rb") as f:
                            blobs.append((path, f.read()))
            for path, blob in blobs:
                scanned += 1
                hits += [(path, s) for s in secrets if s.encode() in blob]
            check(not hits, f"{len(hits)} raw identifiers found, e.g. in {sorted({p for p, _ in hits})[:3]}")
            return f"{len(secrets)} raw identifiers absent from {scanned} files and the log"

        def serving_echo() -> str:
            model = os.path.join(work, "export", "carelora", "1")
            check(os.path.exists(os.path.join(model, "saved_model.pb")), "the pipeline drill exported nothing")
            code = (
                "import json, sys, tensorflow as tf, tensorflow_text  # noqa: F401 (the tokenizer's ops)\n"
                "m = tf.saved_model.load(sys.argv[1])\n"
                "bad = json.dumps({'task': 'appointment_reminder', 'facts': {'preferred_name': 'Zelphine Quartermaine',"
                " 'mrn': 'MRN 80417731', 'dob': '1957-03-14'}})[:-1] + ',}'\n"
                "try:\n"
                "    m.signatures['serving_default'](text=tf.constant([bad]), max_new_tokens=tf.constant(2),"
                " temperature=tf.constant(0.0), top_k=tf.constant(0), top_p=tf.constant(1.0),"
                " seed=tf.constant(0, tf.int64))\n"
                "    print('ANSWERED')\n"
                "except tf.errors.InvalidArgumentError as e:\n"
                "    print('ERROR ' + json.dumps(e.message))\n")
            env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
            env["TF_CPP_MIN_LOG_LEVEL"] = "2"
            proc = subprocess.run([PY, "-c", code, model], capture_output=True, text=True, timeout=300,
                                  env=env, cwd=tempfile.gettempdir())
            out = proc.stdout.strip().splitlines()
            check(out and out[-1].startswith("ERROR "), f"no error: {proc.stdout[-300:]} {proc.stderr[-300:]}")
            message = json.loads(out[-1][6:])
            check("not an object" in message, f"unexpected error: {message[:300]}")
            everything = message + proc.stderr
            leaked = [s for s in REQUEST_IDENTIFIERS if s in everything]
            check(not leaked, f"the error repeats {leaked}")
            return "InvalidArgument names the problem and the row; no name, MRN or date of birth in it"

        return [
            ("offline prepare+train+export", "passes inside `unshare -n` (no network)", pipeline),
            ("file modes", "every workdir file 0600, folder 0700", file_modes),
            ("raw identifiers grep", "no raw identifier in any workdir file (but rejects/ledger) or log", raw_grep),
            ("serving error without echo", "bad-JSON request refused, its identifiers not repeated", serving_echo),
        ]

    def all(self) -> list[tuple[str, str, Callable[[], str]]]:
        # The offline pipeline first: its workdir is what the fault drills below read.
        drills = self.offline_pipeline()
        drills += [
            ("all-unusable input", "one line 'no usable record', exit 2, ledger + report written", self.all_unusable),
            ("corrupt/truncated .gz", "records before the damage kept, rest rejected truncated_archive + offset; "
             "nothing readable: one line, exit 2", self.damaged_gzip),
            ("non-UTF-8 line, on_error=reject", "line in rejects.jsonl, PHI gate runs, training goes on",
             self.non_utf8_reject),
            ("concurrent training", "refused by the lock: one line with pid and host, exit 2", self.lock),
            ("ENOSPC during checkpoint", "one-line error naming the file; previous checkpoint intact", self.enospc),
        ]
        drills += self.resume_and_faults()
        return drills


def print_table(results) -> None:
    """| drill | expectation | wall s | CPU s | result |, the result last so a reader (and CI) finds it."""
    rows = [("drill", "expectation", "wall s", "CPU s", "result")] + [
        (n, e, f"{t:.0f}", f"{c:.0f}", r if r != "FAIL" else f"FAIL: {d[:160]}") for n, e, r, d, t, c in results]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for k, row in enumerate(rows):
        name, expectation, wall, cpu, result = row
        print(f"| {name:<{widths[0]}} | {expectation:<{widths[1]}} | {wall:>{widths[2]}} | {cpu:>{widths[3]}} | {result} |")
        if k == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|--------|")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="leave out the three-process resume drill")
    ap.add_argument("--keep", default="", help="work in this directory and keep it (default: a temp dir, removed)")
    ap.add_argument("--only", default="", help="comma-separated drill names (substrings) to run")
    ap.add_argument("--skip", default="", help="comma-separated drill names (substrings) to leave out")
    args = ap.parse_args(argv)
    os.umask(0o077)
    root = os.path.abspath(args.keep) if args.keep else tempfile.mkdtemp(prefix="carelora_drills_")
    os.makedirs(root, exist_ok=True)
    t0 = time.time()
    try:
        drills = Drills(root, args.quick)
        wanted = [w.strip() for w in args.only.split(",") if w.strip()]
        unwanted = [w.strip() for w in args.skip.split(",") if w.strip()]
        for name, expectation, fn in drills.all():
            if (not wanted or any(w in name for w in wanted)) and not any(w in name for w in unwanted):
                drills.run(name, expectation, fn)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print_table(drills.results)
    failed = [r for r in drills.results if r[2] == "FAIL"]
    print(f"{len(drills.results)} drills in {time.time() - t0:.0f} s: {len(failed)} failed, "
          f"{sum(r[2] == 'SKIP' for r in drills.results)} skipped")
    return 1 if failed or not drills.results else 0


if __name__ == "__main__":
    sys.exit(main())
