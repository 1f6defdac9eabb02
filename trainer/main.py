"""carelora entry point: flags -> config -> stages.

    python -m trainer.main --config=configs/tiny_gpt2_lora.py --workdir=runs/tiny [--mode=train|sweep|...]
        [--config.lora.rank=16 --config.train.steps=200 ...]

Stages read their inputs from the workdir and write their outputs there, so each can be rerun
alone with --mode. --mode=all (the default) runs the stages the config lists in `config.stages`.
"""
from __future__ import annotations

import trainer  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)

import json
import os
import re
import sys
from typing import Callable

from absl import app, flags, logging
from ml_collections import config_flags

_CONFIG = config_flags.DEFINE_config_file("config", None, "Path to a configs/*.py file.", lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for all outputs of this run.", required=True)
_MODE = flags.DEFINE_string("mode", "all", "all | prepare | train | sweep | sample | eval | export (comma-separated for several).")
_EVAL_FILE = flags.DEFINE_string("eval_file", None, "JSONL of {id, task, facts, reference} for --mode=eval.")


def _stage_prepare(config, workdir: str) -> None:
    from trainer.data import prepare

    prepare.run_prepare(config, workdir)


def _stage_train(config, workdir: str) -> None:
    from trainer.train import sft

    sft.train(config, workdir)


def _stage_sweep(config, workdir: str) -> None:
    from trainer.train import sweep

    sweep.run_sweep(config, workdir)


def _stage_sample(config, workdir: str) -> None:
    from trainer.train import samples

    samples.show_samples(config, workdir)


def _stage_eval(config, workdir: str) -> None:
    from trainer.eval import stage

    stage.run(config, workdir, _EVAL_FILE.value)


def _stage_export(config, workdir: str) -> None:
    from trainer.export import stage

    stage.run(config, workdir)


STAGES: dict[str, Callable] = {
    "prepare": _stage_prepare,
    "train": _stage_train,
    "sweep": _stage_sweep,
    "sample": _stage_sample,
    "eval": _stage_eval,
    "export": _stage_export,
}


def _write_resolved_config(config, workdir: str) -> None:
    os.makedirs(workdir, exist_ok=True)
    path = os.path.join(workdir, "config.json")
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(config.to_json_best_effort(indent=2, sort_keys=True))
    os.replace(tmp, path)


_started = False


def main(argv: list[str]) -> None:
    global _started
    _started = True
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    config, workdir = _CONFIG.value, _WORKDIR.value
    if config is None:
        raise app.UsageError("--config is required (a configs/*.py file)")
    modes = list(config.stages) if _MODE.value == "all" else [m.strip() for m in _MODE.value.split(",") if m.strip()]
    unknown = [m for m in modes if m not in STAGES]
    if unknown:
        raise app.UsageError(f"unknown --mode {unknown}; choose from all, {', '.join(STAGES)}")
    _write_resolved_config(config, workdir)
    logging.info("workdir %s; stages %s", workdir, modes)
    for mode in modes:
        STAGES[mode](config, workdir)


def _override_error(error: Exception) -> str:
    """Names the --config.* override that does not exist in the config."""
    text = str(error)
    found = re.search(r"'([A-Za-z0-9_]+)\\?'", text)
    key = found.group(1) if found else text
    suggestion = re.search(r'Did you mean \\?"([A-Za-z0-9_]+)', text)
    culprits = [a.split("=")[0] for a in sys.argv[1:] if a.startswith("--config.") and key in a.split("=")[0].split(".")]
    where = culprits[0] if culprits else "a --config.* flag"
    hint = f" Did you mean '{suggestion.group(1)}'?" if suggestion else ""
    return f"carelora: unknown config key in {where}: '{key}' is not a field of the config.{hint}"


def run() -> None:
    """Console entry point (`carelora`)."""
    try:
        app.run(main)
    except (AttributeError, KeyError) as e:
        # ml_collections raises these while parsing a --config.a.b=v flag whose key does not exist.
        if _started:
            raise
        print(_override_error(e), file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    run()
