"""Grid sweeps: every point trains once, the best by validation loss is promoted, reruns skip."""
import json
import os

import numpy as np
import pytest

from trainer import config_lib
from trainer.data.records import read_clean_examples, write_jsonl
from trainer.models import backbones, lora
from trainer.train import sweep
from trainer.data.files import SAMPLE_TRAIN


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("sweepdata")
    exs = read_clean_examples(SAMPLE_TRAIN)
    write_jsonl(str(d / "train.jsonl"), (e.to_json() for e in exs[:12]))
    write_jsonl(str(d / "val.jsonl"), (e.to_json() for e in exs[12:18]))
    return str(d / "train.jsonl"), str(d / "val.jsonl")


def _config(files, axes):
    cfg = config_lib.tiny_config("tiny_gpt2", ("query", "value"))
    cfg.train.phi_gate.allow_synthetic = True  # copies of the shipped synthetic sample
    cfg.data.train_file, cfg.data.val_file = files
    cfg.train.update(steps=3, batch_size=2, log_every=1, eval_every=0, checkpoint_every=3, xla="off")
    cfg.sweep.axes = axes
    return cfg


def test_axes_are_typed_like_their_fields_and_bad_ones_are_named():
    cfg = config_lib.tiny_config("tiny_gpt2", ("query",))
    cfg.sweep.axes = "lora.rank=2, 4 ; train.learning_rate=1e-3,3e-3;data.packing=false"
    points = sweep.grid(cfg)
    assert len(points) == 2 * 2 * 1
    assert points[0][1] == {"lora.rank": 2, "train.learning_rate": 1e-3, "data.packing": False}
    assert isinstance(points[0][1]["lora.rank"], int) and points[0][0].startswith("000-rank2_")
    for axes, message in [("lora.rnk=2", "'lora.rnk' is not a config field"), ("lora.rank=two", "not a int"),
                          ("lora.targets=query", "only int, float"), ("", "empty"), ("lora.rank", "field=v1"),
                          ("lora.rank=2;lora.rank=4", "twice")]:
        cfg.sweep.axes = axes
        with pytest.raises(ValueError, match=message):
            sweep.grid(cfg)


def test_sweep_trains_each_point_promotes_the_best_and_skips_finished_trials(tmp_path, files):
    cfg = _config(files, "lora.rank=2,4;train.learning_rate=1e-4,1e-2")
    best = sweep.run(cfg, str(tmp_path))
    rows = [json.loads(l) for l in open(tmp_path / "sweep" / "results.jsonl")]
    assert [r["point"] for r in rows] == [{"lora.rank": r, "train.learning_rate": lr} for r in (2, 4) for lr in (1e-4, 1e-2)]
    losses = [r["best_val_loss"] for r in rows]
    assert all(np.isfinite(losses)) and len(set(losses)) == 4
    assert best["best_val_loss"] == min(losses) and best["trial"] == rows[int(np.argmin(losses))]["trial"]
    # Each trial is a real run with its own rank.
    for r in rows:
        meta = lora.read_adapter_metadata(r["adapter"])
        assert meta["lora"]["rank"] == r["point"]["lora.rank"] and meta["step"] == 3
    promoted = tmp_path / "adapter" / "adapter.npz"
    assert promoted.read_bytes() == open(best["adapter"], "rb").read()
    table = (tmp_path / "sweep" / "summary.md").read_text()
    assert table.splitlines()[2].startswith(f"| {best['trial']} |")  # best first

    # The promoted adapter loads under a config that names another rank.
    cfg.lora.rank = 8
    bundle = backbones.build_backbone(cfg.model)
    used = lora.attach_adapter(bundle.backbone, str(promoted), cfg.lora)
    assert used["rank"] == best["point"]["lora.rank"]

    mtimes = {r["trial"]: os.path.getmtime(r["adapter"]) for r in rows}
    again = sweep.run(_config(files, "lora.rank=2,4;train.learning_rate=1e-4,1e-2"), str(tmp_path))
    assert again["trial"] == best["trial"]
    assert {r["trial"]: os.path.getmtime(r["adapter"]) for r in rows} == mtimes  # nothing retrained


def test_sweep_without_validation_data_says_so(tmp_path, files):
    cfg = _config((files[0], ""), "lora.rank=2")
    cfg.data.val_fraction = 0.0
    with pytest.raises(ValueError, match="needs validation data"):
        sweep.run(cfg, str(tmp_path))
