"""--mode=rl end to end on the tiny GPT-2: outputs, guards, report section, resume after SIGKILL."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np

from trainer.data import files
from trainer.data.records import read_clean_examples
from trainer.eval import human
from trainer.models import lora
from trainer.util.jsonl import read_jsonl

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG = os.path.join(REPO, "configs", "tiny_gpt2_rl.py")
FAST = dict(iterations=3, k=2, prompts_per_iteration=1, max_new_tokens=8, xla="off", checkpoint_every=1)


def _config(**rl):
    import importlib.util

    spec = importlib.util.spec_from_file_location("tiny_gpt2_rl", CONFIG)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cfg = module.get_config("tiny_rm")
    cfg.rl.update(**rl)
    cfg.rl.eval.update(max_examples=4, batch_size=4, n_bootstrap=50)
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
    for name, text in (("report.html", "<html><body><h1>eval</h1>\n<h2>Signatures</h2></body></html>"),
                       ("report.md", "# eval\n\n## Signatures\n")):
        with open(os.path.join(eval_dir, name), "w") as f:
            f.write(text)


def test_rl_stage_writes_adapter_metrics_comparison_and_report_section(tmp_path):
    from trainer.rl import stage

    workdir = str(tmp_path)
    # A KL budget so small that every iteration with any drift halves the learning rate.
    cfg = _config(**FAST, kl_budget=1e-9, kl_stop_factor=1e12)
    _sft_adapter(cfg, workdir)
    _eval_dir_with_simulated_ratings(workdir)
    summary = stage.run(cfg, workdir)
    out = os.path.join(workdir, "rl")
    assert summary["iterations"] == 3 and summary["has_ratings"]
    assert summary["reward_model"]["simulated"] and any("SIMULATED" in w for w in summary["warnings"])
    assert summary["lr_final"] < cfg.rl.lr  # the KL budget guard lowered the learning rate
    rows = read_jsonl(os.path.join(out, "metrics.jsonl"))
    assert [r["step"] for r in rows] == [1, 2, 3]
    for key in ("reward", "reward/rm", "reward/fact_recall", "reward/hallucination", "reward/sms_length",
                "reward/language", "reward/length", "kl", "entropy", "response_tokens", "zero_variance_groups"):
        assert all(np.isfinite(r[key]) for r in rows), key
    assert any(f.startswith("events") for f in os.listdir(os.path.join(out, "tensorboard")))
    # The RL adapter has the SFT adapter's format: it loads where sample/eval/export load adapters.
    meta = lora.read_adapter_metadata(os.path.join(out, "adapter", "adapter.npz"))
    assert meta["format"] == "carelora-lora-v1" and meta["rl"]["iterations"] == 3
    comp = json.load(open(os.path.join(out, "comparison.json")))
    for name in ("reward", "fact_recall", "hallucination_rate", "response_tokens"):
        m = comp["metrics"][name]
        assert m["sft"] is not None and m["rl"] is not None and m["sft_ci"] and m["rl_ci"], name
    assert set(comp["checks"]) == {"reward_up", "fact_recall_not_down", "hallucination_rate_not_up", "length_not_exploding"}
    html = open(os.path.join(workdir, "eval", "report.html")).read()
    assert "SFT vs RL" in html and html.index("SFT vs RL") < html.index("<h2>Signatures</h2>") and "SIMULATED" in html
    assert "SFT vs RL" in open(os.path.join(workdir, "eval", "report.md")).read()
    assert os.path.exists(os.path.join(out, "reward_model", "reward_model.json"))


def _cmd(workdir, *extra):
    flags = [f"--config.rl.{k}={v}" for k, v in dict(FAST, iterations=4).items()]
    return [sys.executable, "-m", "trainer.main", f"--config={CONFIG}:tiny_rm", f"--workdir={workdir}", "--mode=rl",
            *flags, "--config.rl.eval.max_examples=2", "--config.rl.eval.batch_size=2",
            "--config.rl.eval.n_bootstrap=20", *extra]


def test_rl_resumes_after_sigkill_and_runs_on_automatic_terms_without_ratings(tmp_path):
    workdir = str(tmp_path)
    _sft_adapter(_config(), workdir)
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    proc = subprocess.Popen(_cmd(workdir), cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ckpt = os.path.join(workdir, "rl", "checkpoints", "ckpt-00000002.npz")
    deadline = time.time() + 300
    while not os.path.exists(ckpt) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    assert os.path.exists(ckpt), "no checkpoint before the kill"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not os.path.exists(os.path.join(workdir, "rl", "summary.json"))
    second = subprocess.run(_cmd(workdir), cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "resumed from" in second.stderr and "NO HUMAN RATINGS" in second.stderr
    rows = read_jsonl(os.path.join(workdir, "rl", "metrics.jsonl"))
    assert [r["step"] for r in rows] == [1, 2, 3, 4]  # nothing lost, nothing logged twice
    summary = json.load(open(os.path.join(workdir, "rl", "summary.json")))
    assert summary["iterations"] == 4 and not summary["has_ratings"]
    assert summary["warnings"] and "NO HUMAN RATINGS" in summary["warnings"][0]
    assert summary["this_run"]["iterations"] <= 2  # this process only ran what the killed one had not
