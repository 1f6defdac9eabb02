"""--mode=rl: reward fine-tuning of the workdir's SFT adapter with RLOO + KL (TF-Agents), then SFT vs RL.

    python -m trainer.main --config=configs/gemma3_270m_rl.py --workdir=DIR --mode=rl

Reads DIR/adapter/adapter.npz (the SFT adapter: policy start and KL reference), the training
prompts (the same file SFT trained on) and any human ratings (DIR/eval/human/*.csv + key, the
rating page's DIR/rate/ store). Writes DIR/rl/: reward_model/, checkpoints/, metrics.jsonl,
tensorboard/, adapter/adapter.npz (same format as DIR/adapter/: sample, eval and export take it
with --config.rl.use=True), comparison.json/.md (held-out SFT vs RL) and summary.json; the
comparison also goes to DIR/eval/sections/ so every render of the eval report shows it. A rerun of
the same command resumes from the newest checkpoint.
"""
from __future__ import annotations

import glob
import os
import time
from typing import Any

import keras
import ml_collections
import numpy as np
import tensorflow as tf
from absl import logging
from tf_agents.replay_buffers import tf_uniform_replay_buffer

from trainer import facts as facts_lib
from trainer.data import files
from trainer.data.prompts import format_prompt
from trainer.data.records import read_clean_examples
from trainer.models import backbones, causal_lm, lora, precision
from trainer.rl import compare, reward_model, rewards, specs
from trainer.rl.agent import RLOOAgent
from trainer.rl.policy import LMPolicy
from trainer.train import checkpoints, metrics_log
from trainer.train.sft import xla_enabled
from trainer.util import files as util_files
from trainer.util import hardware, lock


def sft_adapter_path(workdir: str) -> str:
    return os.path.join(workdir, "adapter", "adapter.npz")


def rl_dir(workdir: str) -> str:
    return os.path.join(workdir, "rl")


def load_reward_model(cfg: ml_collections.ConfigDict, workdir: str) -> tuple[Any, list[str]]:
    """The saved reward model, else one trained now on the workdir's ratings, else None (+ warnings)."""
    rcfg = cfg.rl.reward_model
    directory = os.path.join(rl_dir(workdir), "reward_model")
    notes: list[str] = []
    rm = None
    if os.path.exists(os.path.join(directory, reward_model.MODEL_FILE)) and not rcfg.retrain:
        rm = reward_model.RewardModel.load(directory)
        logging.info("reward model loaded from %s (%s, %d ratings)", directory, rm.kind, rm.meta["n_ratings"])
    else:
        ratings = reward_model.load_ratings(workdir, cfg.rate.db)
        if ratings:
            logging.info("training the reward model on %d ratings from %s", len(ratings),
                         sorted({r.source for r in ratings}))
            rm = reward_model.train_reward_model(ratings, rcfg, cfg.eval.facts)
            rm.save(directory)
    if rm is None:
        logging.warning("=" * 100)
        logging.warning(rewards.NO_RATINGS_WARNING)
        logging.warning("=" * 100)
        notes.append(rewards.NO_RATINGS_WARNING)
    elif rm.simulated:
        notes.append("The reward model was trained on SIMULATED ratings (tools/simulated_rater.py): a demo of the "
                     "pipeline only; these numbers say nothing about what clinicians prefer.")
    return rm, notes


def prompt_pool(cfg: ml_collections.ConfigDict, workdir: str) -> list[dict]:
    train_file, _ = files.train_files(cfg, workdir)
    return [{"id": e.id, "task": e.task, "facts": dict(e.facts)} for e in read_clean_examples(train_file)]


def heldout_examples(cfg: ml_collections.ConfigDict, workdir: str) -> list[dict]:
    path = files.heldout_file(workdir, cfg.rl.eval.file, cfg)
    exs = [{"id": e.id, "task": e.task, "facts": dict(e.facts)} for e in read_clean_examples(path)]
    return exs[: cfg.rl.eval.max_examples] if cfg.rl.eval.max_examples else exs


def prompt_length_for(bundle, texts: list[str], max_new_tokens: int) -> int:
    longest = max(len(np.asarray(bundle.tokenizer(t))) + 1 for t in texts)
    p = -(-longest // 32) * 32
    limit = bundle.max_sequence_length
    if limit:
        p = min(p, int(limit) - max_new_tokens)
    return int(p)


def generate(policy: LMPolicy, examples: list[dict], batch_size: int, seed: int = 0, iteration: int = 0):
    """(texts, token counts) for every example's prompt, in fixed-size batches (one compiled shape)."""
    texts, counts = [], []
    for start in range(0, len(examples), batch_size):
        chunk = examples[start : start + batch_size]
        padded = chunk + chunk[-1:] * (batch_size - len(chunk))
        ids, lens = policy.encode_prompts([format_prompt(e["task"], e["facts"]) for e in padded])
        policy.set_seed(seed, iteration)
        step = policy.action(specs.first_steps(ids, lens))
        mask = step.info["mask"].numpy()
        texts += policy.decode(step.action.numpy(), mask)[: len(chunk)]
        counts += [int(x) for x in mask.sum(axis=1)[: len(chunk)]]
    return texts, counts


def run(cfg: ml_collections.ConfigDict, workdir: str) -> dict[str, Any]:
    with lock.workdir_lock(workdir, "rl"):
        return _run(cfg, workdir)


def _run(cfg: ml_collections.ConfigDict, workdir: str) -> dict[str, Any]:
    r = cfg.rl
    out_dir = rl_dir(workdir)
    ckpt_dir = os.path.join(out_dir, "checkpoints")
    metrics_path = os.path.join(out_dir, "metrics.jsonl")
    os.makedirs(out_dir, exist_ok=True)
    for stale in glob.glob(os.path.join(ckpt_dir, "*.tmp-*")):
        os.remove(stale)
    sft_path = sft_adapter_path(workdir)
    if not os.path.exists(sft_path):
        raise FileNotFoundError(f"{sft_path} is missing: run --mode=train first (RL starts from the SFT adapter)")
    keras.utils.set_random_seed(r.seed)

    # --- reward ---------------------------------------------------------------------------
    rm, notes = load_reward_model(cfg, workdir)
    reward_fn = rewards.Reward(r, rm, cfg.eval.facts)

    # --- model: base + SFT adapter (trainable LoRA only) -------------------------------------
    prec = precision.resolve(r.dtype)
    logging.info("RL with %s weights (rl.dtype=%s): %s", prec.dtype, r.dtype, prec.reason)
    bundle = backbones.build_backbone(cfg.model, prec.dtype)
    causal_lm.enable_packed_attention(bundle)
    settings = lora.attach_adapter(bundle.backbone, sft_path, cfg.lora)
    trainable = list(bundle.backbone.trainable_variables)
    sft_values = [v.numpy() for v in trainable]
    jit = xla_enabled(r.xla, prec.bf16)

    pool = prompt_pool(cfg, workdir)
    heldout = heldout_examples(cfg, workdir)
    n_prompts = min(r.prompts_per_iteration, len(pool))
    if not pool:
        raise ValueError("no training prompts for RL")
    p_len = prompt_length_for(bundle, [format_prompt(e["task"], e["facts"]) for e in pool + heldout], r.max_new_tokens)
    policy = LMPolicy(bundle, p_len, r.max_new_tokens, r.temperature, top_k=r.top_k, jit_compile=jit, seed=r.seed)
    optimizer = keras.optimizers.Adam(learning_rate=r.lr)
    agent = RLOOAgent(policy, optimizer, r.k, r.kl_coef, r.clip_norm, sft_values, jit_compile=jit)
    batch = n_prompts * r.k
    buffer = tf_uniform_replay_buffer.TFUniformReplayBuffer(agent.collect_data_spec, batch_size=batch, max_length=1)
    logging.info("RL: %d prompts x k=%d per iteration, prompt length %d, %d new tokens, %d iterations, xla %s",
                 n_prompts, r.k, p_len, r.max_new_tokens, r.iterations, jit)

    # --- resume ---------------------------------------------------------------------------
    state = {"iteration": 0, "lr": float(r.lr), "stopped": "", "samples_seen": 0}
    found = checkpoints.restore_latest(ckpt_dir, trainable, optimizer.variables)
    if found:
        path, meta = found
        state.update({k: meta[k] for k in state if k in meta})
        logging.info("resumed from %s at iteration %d", path, state["iteration"])
        agent.train_step_counter.assign(state["iteration"])
    metrics_log.start(metrics_path, state["iteration"] if found else None)
    optimizer.learning_rate = state["lr"]

    writer = tf.summary.create_file_writer(os.path.join(out_dir, "tensorboard"))
    it, run_iters = int(state["iteration"]), 0
    timing = {"sample_s": 0.0, "train_s": 0.0, "reward_s": 0.0, "tokens": 0, "iterations": 0}
    while it < r.iterations and not state["stopped"]:
        t0 = time.perf_counter()
        rng = np.random.default_rng([r.seed, it])
        chosen = [pool[i] for i in rng.choice(len(pool), n_prompts, replace=False)]
        rows = [e for e in chosen for _ in range(r.k)]  # prompt-major groups of k
        ids, lens = policy.encode_prompts([format_prompt(e["task"], e["facts"]) for e in rows])
        time_step = specs.first_steps(ids, lens)
        policy.set_seed(r.seed, it)
        step = policy.action(time_step)
        mask = step.info["mask"].numpy()
        n_tok = mask.sum(axis=1)
        t1 = time.perf_counter()
        texts = policy.decode(step.action.numpy(), mask)
        total, terms = reward_fn(texts, [e["task"] for e in rows], [e["facts"] for e in rows], n_tok)
        t2 = time.perf_counter()
        buffer.add_batch(specs.one_step_trajectory(time_step, step, total.astype(np.float32)))
        loss_info = agent.train(buffer.gather_all())
        buffer.clear()
        t3 = time.perf_counter()
        it += 1
        run_iters += 1
        state["iteration"] = it
        state["samples_seen"] += batch
        timing["sample_s"] += t1 - t0
        timing["reward_s"] += t2 - t1
        timing["train_s"] += t3 - t2
        timing["tokens"] += int(n_tok.sum())
        timing["iterations"] += 1
        extra = {k: float(v) for k, v in loss_info.extra.items()}
        record = {"step": it, "loss": float(loss_info.loss), "reward": float(np.mean(total)),
                  **{f"reward/{k}": float(np.mean(v)) for k, v in terms.items()},
                  "kl": extra["kl"], "kl_per_token": extra["kl_per_token"], "entropy": extra["entropy"],
                  "response_tokens": extra["response_tokens"], "zero_variance_groups": extra["zero_variance_groups"],
                  "grad_norm": extra["grad_norm"], "sampler_logp_gap": extra["sampler_logp_gap"],
                  "lr": float(state["lr"]), "iteration_s": t3 - t0,
                  "sampled_tokens_per_s": float(n_tok.sum()) / max(t1 - t0, 1e-9), "rss_gb": hardware.memory_gb()}
        # Reward hacking guard: a KL budget lowers the lr, and far beyond it the run stops.
        if r.kl_budget and extra["kl"] > r.kl_budget * r.kl_stop_factor:
            state["stopped"] = f"kl {extra['kl']:.3g} > kl_budget {r.kl_budget} x {r.kl_stop_factor} at iteration {it}"
            logging.warning("stopping: %s", state["stopped"])
        elif r.kl_budget and extra["kl"] > r.kl_budget:
            state["lr"] = float(state["lr"]) * r.kl_lr_decay
            optimizer.learning_rate = state["lr"]
            logging.warning("kl %.3g over budget %.3g: lr lowered to %.3g", extra["kl"], r.kl_budget, state["lr"])
        record["kl_budget_exceeded"] = bool(r.kl_budget and extra["kl"] > r.kl_budget)
        if it % r.log_every == 0 or it == r.iterations or state["stopped"]:
            metrics_log.append(metrics_path, record, writer)
            logging.info("rl %d/%d reward %.3f (rm %.3f recall %.3f) kl %.3f len %.1f ent %.2f zero-var %.2f %.1fs",
                         it, r.iterations, record["reward"], record["reward/rm"], record["reward/fact_recall"],
                         record["kl"], record["response_tokens"], record["entropy"], record["zero_variance_groups"],
                         record["iteration_s"])
        if it % r.checkpoint_every == 0 or it == r.iterations or state["stopped"]:
            checkpoints.save(ckpt_dir, it, trainable, optimizer.variables, state, r.keep_checkpoints)
        if r.stop_after_iterations and run_iters >= r.stop_after_iterations and it < r.iterations:
            logging.info("stop_after_iterations=%d reached at iteration %d", r.stop_after_iterations, it)
            writer.flush()
            return {"iteration": it, "interrupted": True}
    writer.flush()

    adapter_dir = os.path.join(out_dir, "adapter")
    os.makedirs(adapter_dir, exist_ok=True)
    adapter_path = os.path.join(adapter_dir, "adapter.npz")
    size = lora.save_adapter(bundle.backbone, adapter_path, metadata={
        "model_source": cfg.model.source, "lora": {**settings, "targets": list(settings["targets"]), "dropout": 0.0},
        "step": it, "rl": {"iterations": it, "k": r.k, "kl_coef": r.kl_coef, "sft_adapter": os.path.relpath(sft_path, workdir)}})

    # --- SFT vs RL on held-out facts ---------------------------------------------------------
    comparison = None
    if heldout:
        greedy = LMPolicy(bundle, p_len, r.max_new_tokens, greedy=True, jit_compile=jit)
        results = {}
        rl_values = [v.numpy() for v in trainable]
        for name, values in (("rl", rl_values), ("sft", sft_values)):
            for v, x in zip(trainable, values):
                v.assign(x)
            texts, counts = generate(greedy, heldout, min(r.eval.batch_size, len(heldout)))
            tasks, facts = [e["task"] for e in heldout], [e["facts"] for e in heldout]
            total, terms = reward_fn(texts, tasks, facts, counts)
            scores = [facts_lib.score_output(t, e["task"], e["facts"], cfg.eval.facts) for t, e in zip(texts, heldout)]
            results[name] = (compare.per_example(total, terms, scores, counts, texts), texts)
        for v, x in zip(trainable, rl_values):
            v.assign(x)
        comparison = compare.compare(results["sft"][0], results["rl"][0], r.eval.n_bootstrap, r.seed, cfg.eval.confidence)
        comparison["notes"] = notes
        comparison["examples"] = [{"id": e["id"], "task": e["task"], "sft": s, "rl": t}
                                  for e, s, t in list(zip(heldout, results["sft"][1], results["rl"][1]))[:10]]
        util_files.write_json(os.path.join(out_dir, "comparison.json"), comparison, indent=2)
        util_files.write_text(os.path.join(out_dir, "comparison.md"), compare.render_markdown(comparison, notes))
        updated = compare.publish(os.path.join(workdir, "eval"), comparison, notes)
        logging.info("SFT vs RL section saved for the eval report%s",
                     f"; updated {', '.join(updated)}" if updated else " (shown once --mode=eval renders it)")
        m = comparison["metrics"]
        logging.info("held-out SFT -> RL: reward %s -> %s, fact recall %s -> %s, hallucination rate %s -> %s, "
                     "tokens %s -> %s", m["reward"]["sft"], m["reward"]["rl"], m["fact_recall"]["sft"],
                     m["fact_recall"]["rl"], m["hallucination_rate"]["sft"], m["hallucination_rate"]["rl"],
                     m["response_tokens"]["sft"], m["response_tokens"]["rl"])

    n_it = max(timing["iterations"], 1)
    summary = {
        "iterations": it, "stopped": state["stopped"], "lr_final": state["lr"], "adapter": os.path.relpath(adapter_path, workdir),
        "adapter_bytes": size, "warnings": notes, "has_ratings": rm is not None,
        "reward_model": None if rm is None else {"kind": rm.kind, "n_ratings": rm.meta["n_ratings"],
                                                 "simulated": rm.simulated, "evaluation": rm.meta["evaluation"]},
        "k": r.k, "prompts_per_iteration": n_prompts, "prompt_length": p_len, "max_new_tokens": r.max_new_tokens,
        "precision": prec.dtype, "xla": bool(jit), "lora_parameters": lora.count_lora_params(bundle.backbone),
        "this_run": {"iterations": timing["iterations"], "iterations_per_s": timing["iterations"] / max(
            timing["sample_s"] + timing["train_s"] + timing["reward_s"], 1e-9),
            "sampled_tokens_per_s": timing["tokens"] / max(timing["sample_s"], 1e-9),
            "sample_s_per_iteration": timing["sample_s"] / n_it, "train_s_per_iteration": timing["train_s"] / n_it,
            "reward_s_per_iteration": timing["reward_s"] / n_it},
        "comparison": None if comparison is None else {"metrics": comparison["metrics"], "checks": comparison["checks"]},
        "peak_rss_gb": hardware.memory_gb("VmHWM"),
    }
    util_files.write_json(os.path.join(out_dir, "summary.json"), summary, indent=2)
    logging.info("rl done at iteration %d; adapter %s", it, adapter_path)
    return summary
