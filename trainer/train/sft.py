"""Supervised LoRA fine-tuning, top to bottom: data -> model -> loop -> adapter.

Workdir outputs: config.json, checkpoints/, adapter/, tensorboard/, metrics.jsonl
(one JSON object per logged step: step, loss, lr, tokens_per_s, and val_loss when evaluated)
and train_summary.json. A rerun of the same command resumes from the newest checkpoint.
"""
from __future__ import annotations

import glob
import math
import os
import time
from typing import Any, Callable

import keras
import ml_collections
import numpy as np
import tensorflow as tf
from absl import logging

from trainer.data import files, pipeline
from trainer.deid import gate
from trainer.data.records import CleanExample
from trainer.models import backbones, causal_lm, lora, precision
from trainer.train import checkpoints, distribute, metrics_log
from trainer.util import files as util_files
from trainer.util import hardware, lock



class WarmupDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warmup to the peak, then cosine or linear decay to min_ratio * peak."""

    def __init__(self, peak: float, warmup: int, total: int, decay: str = "cosine", min_ratio: float = 0.1):
        if decay not in ("cosine", "linear", "constant"):
            raise ValueError(f"unknown decay {decay!r}; use cosine, linear or constant")
        self.peak, self.warmup, self.total, self.decay, self.min_ratio = peak, warmup, total, decay, min_ratio

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        warm = self.peak * (step + 1.0) / float(max(self.warmup, 1))
        span = float(max(self.total - self.warmup, 1))
        frac = keras.ops.clip((step - self.warmup) / span, 0.0, 1.0)
        if self.decay == "cosine":
            shape = 0.5 * (1.0 + keras.ops.cos(math.pi * frac))
        elif self.decay == "linear":
            shape = 1.0 - frac
        else:
            shape = keras.ops.ones_like(frac)
        after = self.peak * (self.min_ratio + (1.0 - self.min_ratio) * shape)
        return keras.ops.where(step < self.warmup, warm, after)

    def get_config(self) -> dict[str, Any]:
        return dict(peak=self.peak, warmup=self.warmup, total=self.total, decay=self.decay, min_ratio=self.min_ratio)


def load_examples(cfg: ml_collections.ConfigDict, workdir: str) -> tuple[list[CleanExample], list[CleanExample]]:
    """Train/val examples per `config.data`; a bad line raises or is rejected as configured."""
    data = cfg.data
    read = dict(on_error=data.on_error, rejects_path=os.path.join(workdir, "rejects.jsonl"), tasks=None)
    train_file, val_file = files.train_files(cfg, workdir)
    logging.info("training data %s; validation %s", train_file, val_file or f"{data.val_fraction:.0%} of patients held out")
    train = pipeline.examples_from([train_file], **read)
    if val_file:
        return train, pipeline.examples_from([val_file], **read)
    return pipeline.split_by_patient(train, data.val_fraction, cfg.train.seed)


def phi_gate_check(cfg: ml_collections.ConfigDict, workdir: str) -> None:
    """Refuses to train on files that still hold identifiers (trainer/deid/gate.py).

    The shipped sample is synthetic by construction, so it passes as if allow_synthetic were
    set; any other file needs the config's explicit override to skip the scan.
    """
    gate_cfg = cfg.train.phi_gate
    train_file, val_file = files.train_files(cfg, workdir)
    if gate_cfg.allow_synthetic or all(files.is_shipped_synthetic(p) for p in (train_file, val_file) if p):
        # Scanning synthetic data only lists its fake names; skip the cost (a spaCy pass each).
        logging.warning("PHI gate skipped: %s is declared synthetic (train.phi_gate.allow_synthetic)", train_file)
        return
    gate.run_gate([p for p in (train_file, val_file) if p], gate_cfg, deid_config=cfg.prepare.deid)


def has_accelerator() -> bool:
    return bool(tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("TPU"))


def xla_enabled(setting: Any, bf16: bool = False) -> bool:
    if isinstance(setting, bool):
        return setting
    value = str(setting).lower()
    if value == "auto":
        # XLA's CPU backend runs bfloat16 dots at float32 speed, while TF's oneDNN kernels use
        # AVX512-BF16/AMX: a bf16 step measured 1.7x faster without XLA on a Zen 4 CPU.
        return not bf16 or has_accelerator()
    if value in ("on", "true", "1"):
        return True
    if value in ("off", "false", "0"):
        return False
    raise ValueError(f"train.xla must be auto, on or off, got {setting!r}")


# Kept for callers of the old private name; the log lives in metrics_log now.
_truncate_metrics = metrics_log.truncate


def build_model(cfg: ml_collections.ConfigDict, dtype: str | None = None) -> backbones.ModelBundle:
    """Backbone + LoRA wrappers, packed attention enabled; only adapter weights trainable.

    `dtype` overrides `cfg.model.dtype` for the frozen weights; adapters are float32 either way.
    """
    bundle = backbones.build_backbone(cfg.model, dtype)
    causal_lm.enable_packed_attention(bundle)
    lora.apply_lora(bundle.backbone, cfg.lora.rank, cfg.lora.alpha, cfg.lora.dropout, tuple(cfg.lora.targets))
    return bundle


def step_functions(bundle: backbones.ModelBundle, trainable: list, optimizer: keras.optimizers.Optimizer,
                   clip_norm: float, replicas: int, jit: bool):
    """The per-replica train and eval steps: (accumulate, apply, eval_step) tf.functions.

    accumulate(batch, acc) -> (acc + grads of the batch's summed response loss, loss sum, count);
    apply(acc, n_total) averages over the global count, all-reduces across replicas, clips the
    global norm and updates; eval_step(batch) -> (loss sum, count). Under TPUStrategy XLA compiles
    all three; tests/train/test_tpu_compile.py compiles them with jit_compile=True.
    """

    def replica_grads(batch):
        with tf.GradientTape() as tape:
            loss_sum, n = causal_lm.response_loss(bundle, batch, training=True)
        grads = tape.gradient(loss_sum, trainable)
        return grads, loss_sum, n

    @tf.function(jit_compile=jit, autograph=False)  # no Python control flow to convert
    def accumulate(batch, acc):
        grads, loss_sum, n = replica_grads(batch)
        return [a + g for a, g in zip(acc, grads)], loss_sum, n

    # Collectives stay outside XLA; on one device the whole update compiles.
    @tf.function(jit_compile=jit and replicas == 1, autograph=False)
    def apply(acc, n_total):
        grads = [g / tf.maximum(n_total, 1.0) for g in acc]
        if replicas > 1:
            grads = tf.distribute.get_replica_context().all_reduce("SUM", grads)
        # Clip the global gradient, not each replica's share.
        grads, norm = tf.clip_by_global_norm(grads, clip_norm)
        if replicas > 1:
            grads = [g / replicas for g in grads]  # Keras' optimizer sums over replicas again
        optimizer.apply(grads, trainable)
        return norm

    @tf.function(jit_compile=jit, autograph=False)  # no Python control flow to convert
    def eval_step(batch):
        return causal_lm.response_loss(bundle, batch, training=False)

    return accumulate, apply, eval_step


def run(cfg: ml_collections.ConfigDict, workdir: str,
        stop_check: Callable[[int, float, float], str | None] | None = None) -> dict[str, Any]:
    """Runs (or resumes) the SFT recipe of `cfg` in `workdir`; returns train_summary.json's dict.

    One training per workdir at a time (a lock file); bf16 is a per-run choice carried by the
    backbone's own dtype, never a process-wide policy. With several workers
    (train.devices=multiworker) only the chief writes `workdir`; every worker reads its checkpoints.
    `stop_check(step, val_loss, best_val_loss)` (a sweep's early-stopping rule) is asked after
    each evaluation before the last step; a reason string stops the run there.
    """
    # First: MultiWorkerMirroredStrategy configures collectives, which must precede any TF op.
    t = cfg.train
    strategy = distribute.make_strategy(t.tpu, t.devices, t.cluster, t.cluster_port, t.threads)
    with distribute.output_dir(strategy, workdir) as out_dir:
        with lock.workdir_lock(out_dir, "train"):
            return _train(cfg, workdir, strategy, out_dir, stop_check)


def _train(cfg: ml_collections.ConfigDict, workdir: str, strategy: tf.distribute.Strategy, out_dir: str,
           stop_check: Callable[[int, float, float], str | None] | None = None) -> dict[str, Any]:
    t = cfg.train
    chief = out_dir == workdir
    os.makedirs(workdir, exist_ok=True)
    ckpt_dir = os.path.join(workdir, "checkpoints")  # every worker resumes from the chief's
    out_ckpt_dir = os.path.join(out_dir, "checkpoints")
    metrics_path = os.path.join(out_dir, "metrics.jsonl")
    if chief:
        for stale in glob.glob(os.path.join(ckpt_dir, "*.tmp-*")):
            os.remove(stale)  # a write interrupted by a kill
    keras.utils.set_random_seed(t.seed)
    prec = precision.resolve(t.mixed_precision)
    bf16 = prec.bf16
    logging.info("frozen weights in %s (train.mixed_precision=%s): %s", prec.dtype, t.mixed_precision, prec.reason)

    # --- data ---------------------------------------------------------------------------
    phi_gate_check(cfg, workdir)
    train_examples, val_examples = load_examples(cfg, workdir)
    if not train_examples:
        raise ValueError("no training examples")

    with strategy.scope():
        bundle = build_model(cfg, dtype="bfloat16" if bf16 else None)
        trainable = bundle.backbone.trainable_variables
        schedule = WarmupDecay(t.learning_rate, t.warmup_steps, t.steps, t.decay, t.min_lr_ratio)
        optimizer = keras.optimizers.AdamW(learning_rate=schedule, weight_decay=t.weight_decay)
        optimizer.build(trainable)
    n_lora = lora.count_lora_params(bundle.backbone)
    n_total = sum(int(np.prod(v.shape)) for v in bundle.backbone.weights)
    logging.info("LoRA r=%d on %s: %d trainable of %d parameters (%.3f%%)", cfg.lora.rank, list(cfg.lora.targets), n_lora, n_total, 100 * n_lora / n_total)

    train_rows, train_stats = pipeline.build_rows(train_examples, bundle.tokenizer, cfg.data, bundle.pad_token_id, "train")
    if train_stats.rows < t.batch_size:
        raise ValueError(f"{train_stats.rows} packed rows cannot fill a batch of {t.batch_size}; lower train.batch_size")
    val_rows = None
    if val_examples:
        val_rows, _ = pipeline.build_rows(val_examples, bundle.tokenizer, cfg.data, bundle.pad_token_id, "val")
        val_rows = pipeline.pad_rows(val_rows, t.batch_size)
        # Same K on both sides: one compiled shape for train and eval steps.
        k = max(train_rows["loss_positions"].shape[1], val_rows["loss_positions"].shape[1])
        train_rows, val_rows = (_widen_k(train_rows, k), _widen_k(val_rows, k))

    # --- resume -------------------------------------------------------------------------
    start_step, state = 0, {"best_val": None, "evals_since_best": 0, "tokens_seen": 0}
    rng_variables = lora.dropout_rng_variables(bundle.backbone)
    if chief:
        found = checkpoints.restore_latest(ckpt_dir, trainable, optimizer.variables, rng_variables)
    else:
        found = _restore_read_only(ckpt_dir, trainable, optimizer.variables, rng_variables)
    if found:
        path, meta = found
        start_step = meta["step"]
        state.update({k: meta[k] for k in state if k in meta})
        logging.info("resumed from %s at step %d", path, start_step)
    metrics_log.start(metrics_path, start_step if found else None)
    distribute.check_same_on_workers(strategy, start_step, "the step to resume at")

    micro_steps = (t.steps - start_step) * t.grad_accum
    dataset = strategy.distribute_datasets_from_function(
        lambda ctx: pipeline.make_dataset(
            train_rows, t.batch_size, t.seed, start_batch=start_step * t.grad_accum, num_batches=max(micro_steps, 0), input_context=ctx
        )
    )

    # --- steps --------------------------------------------------------------------------
    jit = xla_enabled(t.xla, bf16)

    replicas = strategy.num_replicas_in_sync
    accumulate, apply, eval_step = step_functions(bundle, trainable, optimizer, t.clip_norm, replicas, jit)

    # strategy.run inside a tf.function: one graph dispatches to every replica.
    @tf.function(autograph=False)
    def dist_accumulate(batch, acc):
        return strategy.run(accumulate, args=(batch, acc))

    @tf.function(autograph=False)
    def dist_apply(acc, n_total):
        return strategy.run(apply, args=(acc, n_total))

    @tf.function(autograph=False)
    def dist_eval(batch):
        return strategy.run(eval_step, args=(batch,))

    @tf.function(autograph=False)
    def dist_zeros():
        return strategy.run(lambda: [tf.zeros_like(v) for v in trainable])

    def run_eval() -> float | None:
        if val_rows is None:
            return None
        total, count = 0.0, 0.0
        # Each worker reads its share of every validation batch, as in training.
        val_ds = strategy.distribute_datasets_from_function(
            lambda ctx: pipeline.make_dataset(val_rows, t.batch_size, t.seed, shuffle=False, input_context=ctx))
        for batch in val_ds:
            s, n = dist_eval(batch)
            total += float(strategy.reduce("SUM", s, axis=None))
            count += float(strategy.reduce("SUM", n, axis=None))
        return total / max(count, 1.0)

    writer = tf.summary.create_file_writer(os.path.join(out_dir, "tensorboard"))
    progbar = keras.utils.Progbar(t.steps, stateful_metrics=["loss", "val_loss", "tok/s"]) if os.isatty(1) else None
    started = time.perf_counter()
    iterator = iter(dataset)
    step, stopped_early = start_step, False
    window = {"loss": 0.0, "n": 0.0, "tokens": 0, "time": 0.0}
    run_steps = 0
    logging.info("training steps %d -> %d (batch %d x accum %d, seq_len %d, xla %s)", start_step, t.steps, t.batch_size, t.grad_accum, cfg.data.seq_len, jit)
    while step < t.steps:
        t0 = time.perf_counter()
        acc = dist_zeros()
        loss_sum = n_sum = 0.0
        tokens = 0
        for _ in range(t.grad_accum):
            batch = next(iterator)
            acc, s, n = dist_accumulate(batch, acc)
            loss_sum += float(strategy.reduce("SUM", s, axis=None))
            n_sum += float(strategy.reduce("SUM", n, axis=None))
            tokens += int(sum(np.count_nonzero(x.numpy()) for x in strategy.experimental_local_results(batch["segment_ids"])))
        tokens = int(distribute.sum_over_workers(strategy, tokens))
        dist_apply(acc, tf.constant(n_sum, tf.float32))
        step += 1
        run_steps += 1
        dt = time.perf_counter() - t0
        window["loss"] += loss_sum
        window["n"] += n_sum
        window["tokens"] += tokens
        window["time"] += dt
        state["tokens_seen"] += tokens

        record: dict[str, Any] = {}
        if step % t.log_every == 0 or step == t.steps:
            record = {
                "step": step,
                "loss": window["loss"] / max(window["n"], 1.0),
                "lr": float(schedule(step - 1)),
                "tokens_per_s": window["tokens"] / max(window["time"], 1e-9),
                "response_tokens_per_s": window["n"] / max(window["time"], 1e-9),
                "rss_gb": hardware.memory_gb(),
            }
            window = {"loss": 0.0, "n": 0.0, "tokens": 0, "time": 0.0}
        if (t.eval_every and step % t.eval_every == 0) or step == t.steps:
            val_loss = run_eval()
            if val_loss is not None:
                record.setdefault("step", step)
                record["val_loss"] = val_loss
                best = state["best_val"]
                if best is None or val_loss < best - t.early_stop_min_delta:
                    state["best_val"], state["evals_since_best"] = val_loss, 0
                else:
                    state["evals_since_best"] += 1
                if t.early_stop_patience and state["evals_since_best"] >= t.early_stop_patience:
                    stopped_early = True
                if stop_check is not None and step < t.steps and not stopped_early:
                    reason = stop_check(step, val_loss, state["best_val"])
                    if reason:
                        logging.info("stopped at step %d by the sweep: %s", step, reason)
                        state["stop_reason"] = reason
                        stopped_early = True
        if record:
            metrics_log.append(metrics_path, record, writer)
            shown = [(k, v) for k, v in (("loss", record.get("loss")), ("val_loss", record.get("val_loss")),
                                         ("tok/s", record.get("tokens_per_s")), ("rss_gb", record.get("rss_gb"))) if v is not None]
            if progbar is not None:
                progbar.update(step, shown)
            else:  # not a terminal (CI, nohup): one log line per logged step instead of a bar
                elapsed = time.perf_counter() - started
                eta = elapsed / max(run_steps, 1) * (t.steps - step)
                logging.info("step %d/%d %s eta %.0fs", step, t.steps, " ".join(f"{k} {v:.4g}" for k, v in shown), eta)
        if step % t.checkpoint_every == 0 or step == t.steps or stopped_early:
            checkpoints.save(out_ckpt_dir, step, trainable, optimizer.variables, state, t.keep_checkpoints, rng_variables)
        if stopped_early:
            if not state.get("stop_reason"):
                logging.info("early stop at step %d: val_loss has not improved for %d evaluations", step, t.early_stop_patience)
            break
        if t.stop_after_steps and run_steps >= t.stop_after_steps and step < t.steps:
            logging.info("stop_after_steps=%d reached at step %d", t.stop_after_steps, step)
            writer.flush()
            return {"step": step, "interrupted": True}
    writer.flush()

    adapter_dir = os.path.join(out_dir, "adapter")
    os.makedirs(adapter_dir, exist_ok=True)
    size = lora.save_adapter(
        bundle.backbone,
        os.path.join(adapter_dir, "adapter.npz"),
        metadata={"model_source": cfg.model.source, "lora": cfg.lora.to_dict(), "step": step},
    )
    summary = {
        "step": step,
        "stopped_early": stopped_early,
        "best_val_loss": state["best_val"],
        "lora_parameters": n_lora,
        "total_parameters": n_total,
        "adapter_bytes": size,
        "train_rows": train_stats.as_dict(),
        "tokens_seen": state["tokens_seen"],
        "precision": prec.dtype,
        "precision_reason": prec.reason,
        "xla": bool(jit),
        "peak_rss_gb": hardware.memory_gb("VmHWM"),
        "workers": distribute.num_workers(strategy),
        "replicas": strategy.num_replicas_in_sync,
        **({"stop_reason": state["stop_reason"]} if state.get("stop_reason") else {}),
    }
    util_files.write_json(os.path.join(out_dir, "train_summary.json"), summary, indent=2)
    logging.info("done at step %d; adapter %s (%d bytes)", step, adapter_dir, size)
    return summary


def _restore_read_only(directory: str, variables, optimizer_variables, rng_variables):
    """A non-chief worker's resume: the newest readable checkpoint of the chief, renaming nothing
    (setting damaged files aside is the chief's job)."""
    for _, path in reversed(checkpoints.list_checkpoints(directory)):
        try:
            return path, checkpoints.restore(path, variables, optimizer_variables, rng_variables)
        except checkpoints.CheckpointError as e:
            logging.warning("%s; trying the previous one", e)
    return None


def _widen_k(rows: dict[str, np.ndarray], k: int) -> dict[str, np.ndarray]:
    have = rows["loss_positions"].shape[1]
    if have == k:
        return rows
    out = dict(rows)
    for key in ("loss_positions", "loss_targets", "loss_weights"):
        v = rows[key]
        out[key] = np.concatenate([v, np.zeros((v.shape[0], k - have), v.dtype)], axis=1)
    return out
