"""The export stage: the trained adapter -> a TF Serving model directory in DIR/export/.

    python -m trainer.main --config=configs/X.py --workdir=DIR --mode=export

Default: LoRA merged into the base kernels (no adapter cost at inference), written as
DIR/export/<model_name>/<version>/ with models.config and warmup requests. With
`export.adapter_slots > 0` the base model is exported with adapter slots instead (version v) and
this run's adapter is added as version v+1, for serving many adapters on one base.
"""
from __future__ import annotations

import os

import ml_collections
from absl import logging

from trainer.export import saved_model, serving
from trainer.models import backbones, lora


def run(cfg: ml_collections.ConfigDict, workdir: str) -> str:
    e = cfg.export
    adapter = os.path.join(workdir, "adapter", "adapter.npz")
    if not os.path.exists(adapter):
        raise FileNotFoundError(f"{adapter} is missing: run --mode=train first")
    bundle = backbones.build_backbone(cfg.model)
    root = os.path.join(workdir, "export")
    if e.adapter_slots:
        # Slots must be able to hold this run's adapter.
        e = e.copy_and_resolve_references()
        saved = lora.read_adapter_metadata(adapter).get("lora") or cfg.lora
        e.adapter_rank = max(int(e.adapter_rank), int(saved["rank"]))
        e.adapter_targets = tuple(saved["targets"])
        base_dir = saved_model.export_serving(bundle.backbone, bundle.tokenizer, root, e.model_name, e.version, e)
        path = serving.add_adapters(os.path.dirname(base_dir), e.version, e.version + 1, {"finetuned": adapter}, warmup=e.warmup)
        logging.info("exported base with %d adapter slots to %s and this adapter as %s", e.adapter_slots, base_dir, path)
        return path
    lora.attach_adapter(bundle.backbone, adapter, cfg.lora)
    merged = lora.merge_lora(bundle.backbone)
    path = saved_model.export_serving(bundle.backbone, bundle.tokenizer, root, e.model_name, e.version, e)
    logging.info("exported %s (LoRA merged into %d layers)", path, merged)
    return path
