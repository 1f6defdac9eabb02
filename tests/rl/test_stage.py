"""--mode=rl end to end on the tiny GPT-2: outputs, guards, report section, resume after SIGKILL.

One run serves every end-to-end assertion (tracing the sampler and the train step costs more than
the iterations): a subprocess on simulated ratings is SIGKILLed after its second checkpoint, and
this process resumes it to the end. A run without ratings is tested where it differs: the reward
model is absent (`stage.load_reward_model`) and the reward is the automatic terms alone.
"""
import json
import logging
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from trainer.data import files
from trainer.data.records import read_clean_examples
from trainer.eval import human
from trainer.models import lora
from trainer.rl import rewards
from trainer.util.jsonl import read_jsonl
from tests.tolerances import SAME_MATH

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG = os.path.join(REPO, "configs", "tiny_gpt2_rl.py")
# A KL budget so small that every iteration with any drift halves the learning rate.
FAST = dict(iterations=4, k=2, prompts_per_iteration=1, max_new_tokens=8, xla="off", checkpoint_every=1,
            kl_budget=1e-9, kl_stop_factor=1e12)
EVAL = dict(max_examples=2, batch_size=2, n_bootstrap=20)


def _config(**rl):
    import importlib.util

    spec = importlib.util.spec_from_file_location("tiny_gpt2_rl", CONFIG)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cfg = module.get_config("tiny_rm")
    cfg.rl.update(**rl)
    cfg.rl.eval.update(**EVAL)
    return cfg


def _sft_adapter(cfg, workdir):
    """A stand-in SFT adapter for the workdir (what --mode=train leaves): the config's LoRA, non-zero B."""
    from trainer.train import sft

    bundle = sft.build_model(cfg)
    rng = np.random.default_rng(1)
    for w in lora.lora_wrappers(bundle.backbone):
        w.lora_b.assign(rng.normal(0, 0.02, w.lora_b.shape).astype("float32"))
    os.makedirs(os.path.join(workdir, "adapter"), exist_ok=True)
    lora.save_adapter(bundle.backbone, os.path.join(workdir, "adapter", "adapter.npz"),
                      metadata={"model_source": cfg.model.source, "lora": cfg.lora.to_dict()})


def _eval_dir_with_simulated_ratings(workdir):
    sys.path.insert(0, os.path.join(REPO, "tools"))
    import simulated_rater

    exs = [{"id": e.id, "task": e.task, "facts": e.facts, "reference": e.response}
           for e in read_clean_examples(files.SAMPLE_HELDOUT)[:6]]
    eval_dir = os.path.join(workdir, "eval")
    os.makedirs(eval_dir, exist_ok=True)
    human.export_rating_sheet(exs, {"finetuned": [e["reference"] for e in exs], "baseline": ["Call us."] * 6},
                              os.path.join(eval_dir, "rating_sheet.csv"), os.path.join(eval_dir, "rating_key.csv"))
    with open(os.path.join(eval_dir, "predictions.jsonl"), "w") as f:
        f.writelines(json.dumps({"id": e["id"], "facts": e["facts"]}) + "\n" for e in exs)
    simulated_rater.simulate(workdir, raters=3)


def _eval_reports(workdir):
    """Stand-ins for the eval stage's report.html/.md, which --mode=rl adds its section to."""
    eval_dir = os.path.join(workdir, "eval")
    os.makedirs(eval_dir, exist_ok=True)
    for name, text in (("report.html", "<html><body><h1>eval</h1>\n<h2>Signatures</h2></body></html>"),
                       ("report.md", "# eval\n\n## Signatures\n")):
        with open(os.path.join(eval_dir, name), "w") as f:
            f.write(text)


def _cmd(workdir):
    flags = [f"--config.rl.{k}={v}" for k, v in FAST.items()] + [f"--config.rl.eval.{k}={v}" for k, v in EVAL.items()]
    return [sys.executable, "-m", "trainer.main", f"--config={CONFIG}:tiny_rm", f"--workdir={workdir}", "--mode=rl", *flags]


class _Lines(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """(workdir, summary, the killed run's log, the resumed run's log lines)."""
    from trainer.rl import stage

    workdir = str(tmp_path_factory.mktemp("rl"))
    cfg = _config(**FAST)
    _sft_adapter(cfg, workdir)
    _eval_dir_with_simulated_ratings(workdir)
    _eval_reports(workdir)
    log_path = os.path.join(workdir, "killed.log")
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    with open(log_path, "wb") as log:  # a file, not a pipe: nobody reads a pipe while we wait
        proc = subprocess.Popen(_cmd(workdir), cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    ckpt = os.path.join(workdir, "rl", "checkpoints", "ckpt-00000002.npz")
    deadline = time.time() + 300
    while not os.path.exists(ckpt) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    killed_log = open(log_path, errors="replace").read()
    assert os.path.exists(ckpt), "no checkpoint before the kill:\n" + killed_log[-3000:]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not os.path.exists(os.path.join(workdir, "rl", "summary.json")), "the run ended before the kill"
    handler = _Lines()
    logger = logging.getLogger("absl")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:  # the rerun of the same command, in this process
        summary = stage.run(cfg, workdir)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    return workdir, summary, open(log_path, errors="replace").read(), handler.lines


def test_rl_resumes_after_sigkill_without_losing_or_repeating_a_step(run):
    workdir, summary, killed_log, lines = run
    assert "training the reward model" in killed_log
    assert any(line.startswith("resumed from") for line in lines)
    assert any(line.startswith("reward model loaded from") for line in lines)  # the saved one, not retrained
    rows = read_jsonl(os.path.join(workdir, "rl", "metrics.jsonl"))
    assert [r["step"] for r in rows] == [1, 2, 3, 4]  # nothing lost, nothing logged twice
    assert summary["iterations"] == 4
    assert summary["this_run"]["iterations"] <= 2  # this process only ran what the killed one had not


def test_rl_writes_metrics_adapter_and_comparison_and_guards_kl(run):
    workdir, summary, _, _ = run
    out = os.path.join(workdir, "rl")
    assert summary["has_ratings"] and summary["reward_model"]["simulated"]
    assert any("SIMULATED" in w for w in summary["warnings"])
    rows = read_jsonl(os.path.join(out, "metrics.jsonl"))
    for key in ("reward", "reward/rm", "reward/fact_recall", "reward/hallucination", "reward/sms_length",
                "reward/language", "reward/length", "kl", "entropy", "response_tokens", "zero_variance_groups"):
        assert all(np.isfinite(r[key]) for r in rows), key
    assert abs(rows[0]["kl"]) <= SAME_MATH["atol"]  # iteration 1: the policy is still the SFT adapter
    assert summary["lr_final"] < _config().rl.lr  # the KL budget guard lowered the learning rate
    assert [r["kl_budget_exceeded"] for r in rows] == [r["kl"] > FAST["kl_budget"] for r in rows]
    assert any(f.startswith("events") for f in os.listdir(os.path.join(out, "tensorboard")))
    # The RL adapter has the SFT adapter's format: it loads where sample/eval/export load adapters.
    meta = lora.read_adapter_metadata(os.path.join(out, "adapter", "adapter.npz"))
    assert meta["format"] == "carelora-lora-v1" and meta["rl"]["iterations"] == 4
    comp = json.load(open(os.path.join(out, "comparison.json")))
    for name in ("reward", "fact_recall", "hallucination_rate", "response_tokens"):
        m = comp["metrics"][name]
        assert m["sft"] is not None and m["rl"] is not None and m["sft_ci"] and m["rl_ci"], name
    assert set(comp["checks"]) == {"reward_up", "fact_recall_not_down", "hallucination_rate_not_up", "length_not_exploding"}
    html = open(os.path.join(workdir, "eval", "report.html")).read()
    assert "SFT vs RL" in html and html.index("SFT vs RL") < html.index("<h2>Signatures</h2>")
    assert "SIMULATED" in html  # the label travels with the numbers into the report
    assert "SFT vs RL" in open(os.path.join(workdir, "eval", "report.md")).read()
    section = json.load(open(os.path.join(workdir, "eval", "sections", "rl_comparison.json")))
    assert section["data"]["metrics"] == comp["metrics"]


def test_reward_model_absent_without_ratings_and_labelled_on_simulated_ones(tmp_path):
    from trainer.rl import stage

    workdir = str(tmp_path)
    cfg = _config()
    none, notes = stage.load_reward_model(cfg, workdir)  # before the sheets exist: no ratings, said loudly
    assert none is None and notes == [rewards.NO_RATINGS_WARNING] and "NO HUMAN RATINGS" in notes[0]
    _eval_dir_with_simulated_ratings(workdir)
    rm, notes = stage.load_reward_model(cfg, workdir)
    assert rm is not None and rm.simulated and rm.meta["n_ratings"] > 0
    assert any("SIMULATED" in n for n in notes)
    assert os.path.exists(os.path.join(workdir, "rl", "reward_model", "reward_model.json"))
    again, _ = stage.load_reward_model(cfg, workdir)  # the saved model is loaded, not retrained
    assert again.kind == rm.kind and again.meta["n_ratings"] == rm.meta["n_ratings"] and again.simulated


def test_without_ratings_the_reward_is_the_automatic_terms_alone():
    cfg = _config()
    ex = read_clean_examples(files.SAMPLE_HELDOUT)[0]
    reward = rewards.Reward(cfg.rl, None, cfg.eval.facts)
    assert not reward.has_ratings
    texts = [ex.response, "Call us."]
    total, terms = reward(texts, [ex.task] * 2, [dict(ex.facts)] * 2, [20, 3])
    assert (terms["rm"] == 0).all() and np.isfinite(total).all()
    np.testing.assert_allclose(total, rewards.combine({k: v for k, v in terms.items() if k != "rm"}, cfg.rl.reward))
    assert total[0] > total[1]  # the reference states its facts; "Call us." states none
