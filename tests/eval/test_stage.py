"""The eval stage end to end on a tiny model: baseline and fine-tuned run, files and numbers agree."""
import importlib.util
import json
import os

from trainer import config_lib
from trainer.data import files
from trainer.eval import stage
from trainer.train import sft

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _config():
    spec = importlib.util.spec_from_file_location("c", os.path.join(REPO, "configs", "tiny_gpt2_lora.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    cfg = mod.get_config()
    cfg.train.update(steps=4, log_every=2, eval_every=4, checkpoint_every=4)
    # 2-shot style-guide prompts of the sample run to ~800 GPT-2 tokens, past the tiny model's 512
    # positions: the stage drops shots until they fit (trainer/eval/baseline.py), so this runs as is.
    cfg.eval.generation.update(max_examples=5, max_new_tokens=8, batch_size=4)
    cfg.eval.n_bootstrap = 50
    cfg.eval.n_bootstrap_per_task = 20
    return cfg


def test_eval_stage_compares_baseline_and_finetuned_on_the_heldout_file(tmp_path):
    cfg = _config()
    workdir = str(tmp_path)
    sft.run(cfg, workdir)
    metrics = stage.run(cfg, workdir)
    out = os.path.join(workdir, "eval")
    for name in ("predictions.jsonl", "metrics.json", "report.html", "report.md", "rating_sheet.csv"):
        assert os.path.exists(os.path.join(out, name)), name
    with open(os.path.join(out, "metrics.json")) as f:
        on_disk = json.load(f)
    assert on_disk == metrics and on_disk["n"] == 5
    assert set(on_disk["models"]) == {"baseline", "finetuned"}
    for model in ("baseline", "finetuned"):
        assert {"bleu", "chrf", "rouge1", "rouge2", "rougeL", "fact_recall", "hallucination_rate"} <= set(on_disk[model])
    with open(os.path.join(out, "predictions.jsonl")) as f:
        preds = [json.loads(l) for l in f]
    heldout = [json.loads(l) for l in open(files.SAMPLE_HELDOUT)][:5]
    assert [p["id"] for p in preds] == [h["id"] for h in heldout]
    assert all(set(p["outputs"]) == {"baseline", "finetuned"} for p in preds)
    # the report says which baseline prompt and how many shots it used
    assert on_disk["baseline_prompt"]["prompt"] == cfg.eval.baseline.prompt == "style-v1"
    assert on_disk["baseline_prompt"]["n_shots"] == cfg.eval.baseline.n_shots == 2
    assert on_disk["baseline_prompt"]["shots_file"] == files.SAMPLE_TRAIN
    md = open(os.path.join(out, "report.md"), encoding="utf-8").read()
    assert "baseline_prompt: `prompt:style-v1|shots:2|" in md


def test_eval_file_resolution_prefers_flag_then_prepared_split_then_shipped_test_split(tmp_path):
    assert stage.resolve_eval_file(str(tmp_path), "x.jsonl") == "x.jsonl"
    assert stage.resolve_eval_file(str(tmp_path), None) == files.CORPUS_TEST
    assert stage.resolve_eval_file(str(tmp_path), None, config_lib.base_config()) == files.CORPUS_TEST
    assert stage.resolve_eval_file(str(tmp_path), None, _config()) == files.SAMPLE_HELDOUT  # tiny: the sample
    os.makedirs(tmp_path / "data")
    (tmp_path / "data" / "test.jsonl").write_text("")
    assert stage.resolve_eval_file(str(tmp_path), None) == str(tmp_path / "data" / "test.jsonl")
    assert stage.resolve_eval_file(str(tmp_path), None, _config()) == str(tmp_path / "data" / "test.jsonl")


def test_baseline_shots_come_from_the_training_file_of_the_workdir(tmp_path):
    cfg = _config()
    assert stage.shots_file(cfg, str(tmp_path)) == files.SAMPLE_TRAIN
    os.makedirs(tmp_path / "data")
    (tmp_path / "data" / "train.jsonl").write_text("")
    assert stage.shots_file(cfg, str(tmp_path)) == str(tmp_path / "data" / "train.jsonl")
    cfg.data.train_file = "/elsewhere/train.jsonl"
    assert stage.shots_file(cfg, str(tmp_path)) == "/elsewhere/train.jsonl"
