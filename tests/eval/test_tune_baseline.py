"""tools/tune_baseline.py on the tiny model: every shot count is scored on the validation split
(never test), in one report, and the best count is read off the chosen metric."""
import importlib.util
import json
import os

import pytest

from trainer.data import files

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _tool():
    spec = importlib.util.spec_from_file_location("tune_baseline", os.path.join(REPO, "tools", "tune_baseline.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_scores_each_shot_count_on_the_val_split(tmp_path):
    tool = _tool()
    # the corpus instead of the tiny config's sample; 3-shot corpus prompts need more than 512 positions
    rc = tool.main(["--config", os.path.join(REPO, "configs", "tiny_gpt2_lora.py"), "--workdir", str(tmp_path),
                    "--shots", "3,0,1", "--max_examples", "3", "--n_bootstrap", "20",
                    "--set", "data.fallback=corpus", "--set", "model.tiny.max_sequence_length=2048",
                    "--set", "eval.generation.max_new_tokens=4", "--set", "eval.generation.batch_size=3"])
    assert rc == 0
    out = tmp_path / "tune_baseline"
    summary = json.loads((out / "tune_baseline.json").read_text())
    assert summary["val_file"] == files.CORPUS_VAL and summary["shots_file"] == files.CORPUS_TRAIN
    assert list(summary["arms"]) == ["0-shot", "1-shot", "3-shot"] and summary["n_examples"] == 3
    metrics = json.loads((out / "eval" / "metrics.json").read_text())
    assert metrics["models"] == ["0-shot", "1-shot", "3-shot"] and metrics["n"] == 3
    val_ids = [json.loads(line)["id"] for line in open(files.CORPUS_VAL, encoding="utf-8")][:3]
    preds = [json.loads(line) for line in (out / "eval" / "predictions.jsonl").read_text().splitlines()]
    assert [p["id"] for p in preds] == val_ids
    for name, row in summary["arms"].items():
        assert row["rougeL"] == metrics[name]["rougeL"] and row["facts_in_role"] == metrics[name]["facts_in_role"]
    rouge = {summary["arms"][n]["n_shots"]: summary["arms"][n]["rougeL"] for n in summary["arms"]}
    best = max(rouge.values())
    assert summary["best_n_shots"] == min(k for k, v in rouge.items() if v == best)
    assert metrics["baseline_prompt"]["prompt"] == "style-v1"


def test_best_arm_respects_the_metric_direction():
    tool = _tool()
    metrics = {"0-shot": {"rougeL": 0.2, "hallucination_rate": 0.1},
               "1-shot": {"rougeL": 0.3, "hallucination_rate": 0.3},
               "2-shot": {"rougeL": 0.3, "hallucination_rate": 0.1}}
    arms = ["0-shot", "1-shot", "2-shot"]
    assert tool.best_arm(metrics, arms, "rougeL") == "1-shot"  # a tie goes to fewer shots
    assert tool.best_arm(metrics, arms, "hallucination_rate") == "0-shot"


def test_bad_arguments_are_one_line(tmp_path, capsys):
    tool = _tool()
    assert tool.main(["--config", os.path.join(REPO, "configs", "tiny_gpt2_lora.py"), "--workdir", str(tmp_path),
                      "--shots", "two"]) == 2
    assert "--shots 'two': expected comma-separated counts" in capsys.readouterr().err
    with pytest.raises(ValueError, match="no validation file"):
        cfg = tool.load_config(os.path.join(REPO, "configs", "tiny_gpt2_lora.py"), [])
        tool.tune(cfg, str(tmp_path), [0])  # the tiny config's sample has no val split to tune on
