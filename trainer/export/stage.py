"""The export stage: the trained adapter -> a TF Serving model directory in DIR/export/.

    python -m trainer.main --config=configs/X.py --workdir=DIR --mode=export

Default: LoRA merged into the base kernels (no adapter cost at inference), written as
DIR/export/<model_name>/<version>/ with models.config and warmup requests. With
`export.adapter_slots > 0` the base model is exported with adapter slots instead (version v) and
this run's adapter is added as version v+1, for serving many adapters on one base.

`export.dtype` (auto | float32 | bfloat16 | int8) sets how the merged weights are stored and run
(weight_formats.py); auto picks bfloat16 where the hardware runs it natively, float32 elsewhere,
and the log says which and why. With adapter slots, int8 leaves the slot target layers float.
"""
from __future__ import annotations

import os

import ml_collections
from absl import logging

from trainer.export import saved_model, serving, weight_formats
from trainer.models import backbones, lora


def run(cfg: ml_collections.ConfigDict, workdir: str) -> str:
    e = cfg.export
    # --config.rl.use=True takes the reward-tuned adapter of --mode=rl (same format).
    adapter = os.path.join(workdir, *(("rl",) if cfg.get("rl") and cfg.rl.get("use") else ()), "adapter", "adapter.npz")
    if not os.path.exists(adapter):
        raise FileNotFoundError(f"{adapter} is missing: run --mode=train first")
    bundle = backbones.build_backbone(cfg.model)
    root = os.path.join(workdir, "export")
    choice = weight_formats.resolve(e.get("dtype", "auto"))
    logging.info("export weights: %s (%s)", choice.dtype, choice.reason)
    if e.jit_compile and choice.dtype == weight_formats.BFLOAT16 and not e.get("xla_bf16_on_cpu", False):
        import tensorflow as tf

        if not (tf.config.list_physical_devices("GPU") or tf.config.list_logical_devices("TPU")):
            # XLA's CPU backend runs bf16 dots far slower than TF's oneDNN kernels (README, Export).
            e = e.copy_and_resolve_references()
            e.jit_compile = False
            logging.info("export decode loop: XLA off (bf16 weights on a CPU-only machine; export.xla_bf16_on_cpu=True keeps it)")
    if e.adapter_slots:
        # Slots must be able to hold this run's adapter.
        e = e.copy_and_resolve_references()
        saved = lora.read_adapter_metadata(adapter).get("lora") or cfg.lora
        e.adapter_rank = max(int(e.adapter_rank), int(saved["rank"]))
        e.adapter_targets = tuple(saved["targets"])
        base = weight_formats.convert(bundle.backbone, choice.dtype, keep_float=e.adapter_targets, inplace=True)
        base_dir = saved_model.export_serving(base, bundle.tokenizer, root, e.model_name, e.version, e)
        path = serving.add_adapters(os.path.dirname(base_dir), e.version, e.version + 1, {"finetuned": adapter}, warmup=e.warmup)
        logging.info("exported base with %d adapter slots to %s and this adapter as %s", e.adapter_slots, base_dir, path)
        return path
    lora.attach_adapter(bundle.backbone, adapter, cfg.lora)
    merged = lora.merge_lora(bundle.backbone)
    backbone = weight_formats.convert(bundle.backbone, choice.dtype, inplace=True)
    path = saved_model.export_serving(backbone, bundle.tokenizer, root, e.model_name, e.version, e)
    logging.info("exported %s (LoRA merged into %d layers, %s weights)", path, merged, choice.dtype)
    return path
