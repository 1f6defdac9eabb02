"""carelora entry point: flags -> config -> stages.

    python -m trainer.main --config=configs/tiny_gpt2_lora.py --workdir=runs/tiny [--mode=train|sweep|...]
        [--config.lora.rank=16 --config.train.steps=200 ...]

Stages read their inputs from the workdir and write their outputs there, so each can be rerun
alone with --mode. --mode=all (the default) runs the stages the config lists in `config.stages`.
"""
from __future__ import annotations

import trainer  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)

import importlib
import os
import re
import sys

from absl import app, flags, logging
from ml_collections import config_flags

from trainer.util import files
from trainer.util.errors import UserError

_CONFIG = config_flags.DEFINE_config_file("config", None, "Path to a configs/*.py file.", lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for all outputs of this run (required unless --print_config).")
_MODE = flags.DEFINE_string("mode", "all", "all | prepare | augment | train | sweep | sample | eval | rate | rl | export (comma-separated for several).")
_EVAL_FILE = flags.DEFINE_string("eval_file", None, "Shorthand for --config.eval.file: JSONL of {id, task, facts, reference}.")
_PRINT_CONFIG = flags.DEFINE_bool("print_config", False, "Print the resolved config tree and exit (no TensorFlow loaded).")

# Stage name -> module with `run(config, workdir)`. Imported only when run, so that --mode=prepare
# or --print_config never load TensorFlow.
STAGES: dict[str, str] = {
    "prepare": "trainer.prepare.stage",
    "augment": "trainer.augment.stage",
    "train": "trainer.train.sft",
    "sweep": "trainer.train.sweep",
    "sample": "trainer.train.samples",
    "eval": "trainer.eval.stage",
    "rate": "trainer.rate.stage",
    "rl": "trainer.rl.stage",
    "export": "trainer.export.stage",
}


def run_stage(name: str, config, workdir: str):
    return importlib.import_module(STAGES[name]).run(config, workdir)


def _write_resolved_config(config, workdir: str) -> None:
    files.write_text(os.path.join(workdir, "config.json"), config.to_json_best_effort(indent=2, sort_keys=True))


_started = False


def main(argv: list[str]) -> None:
    global _started
    _started = True
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    config, workdir = _CONFIG.value, _WORKDIR.value
    if config is None:
        raise app.UsageError("--config is required (a configs/*.py file)")
    if _EVAL_FILE.value:
        config.eval.file = _EVAL_FILE.value
    if _PRINT_CONFIG.value:
        print(config)
        return
    if not workdir:
        raise app.UsageError("--workdir is required")
    modes = list(config.stages) if _MODE.value == "all" else [m.strip() for m in _MODE.value.split(",") if m.strip()]
    unknown = [m for m in modes if m not in STAGES]
    if unknown:
        raise app.UsageError(f"unknown --mode {unknown}; choose from all, {', '.join(STAGES)}")
    # Workdir files hold patient text (prepared data, rejects, ledger, samples): owner-only, 0600
    # files in 0700 folders, whatever the shell's umask.
    os.umask(0o077)
    _write_resolved_config(config, workdir)
    logging.info("workdir %s; stages %s", workdir, modes)
    for mode in modes:
        run_stage(mode, config, workdir)


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
    except UserError as e:
        # Bad input or a busy/damaged workdir: the message says what to do; a traceback would bury it.
        print(f"carelora: {e}", file=sys.stderr)
        sys.exit(2)
    except (AttributeError, KeyError) as e:
        # ml_collections raises these while parsing a --config.a.b=v flag whose key does not exist.
        if _started:
            raise
        print(_override_error(e), file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    run()
