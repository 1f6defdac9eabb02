"""TF Serving files around an export: models.config, warmup records, adapter versions.

Layout written by `saved_model.export_serving` (what `tensorflow_model_server` expects):

  <export_root>/models.config                      --model_config_file for the server
  <export_root>/<model_name>/<version>/saved_model.pb, variables/, assets/
  <export_root>/<model_name>/<version>/assets.extra/tf_serving_warmup_requests
  <export_root>/<model_name>/<version>/assets.extra/carelora_export.json

Serving a LoRA adapter on a shared base (export with `adapter_slots` > 0):

  python -m trainer.export.serving add-adapters --model_dir <export_root>/<model_name> \\
      --from_version 1 --to_version 2 --adapter clinic_a=/path/clinic_a.npz

writes version 2 as hard links to version 1's graph and weights (no copy of the base) plus a
warmup file whose first records call `load_adapter`, so the server installs the adapters while
it loads version 2, before it takes traffic. Requests then name the adapter:
`{"inputs": {"text": ["..."], "adapter": "clinic_a"}}`.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from trainer.export import adapters as adapter_lib

WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")
MODELS_CONFIG_FILE = "models.config"

# Requests used to warm up (and compile) a fresh version; plain clinic-style JSON requests.
WARMUP_REQUESTS = (
    {"task": "appointment_reminder", "facts": {"preferred_name": "Ana", "appointment_date": "2026-03-04",
                                                "appointment_time": "09:30", "provider_name": "Dr. Lee",
                                                "language": "en", "channel": "sms"}},
    {"task": "prescription_refill", "facts": {"preferred_name": "Luis", "medication": "metformin 500 mg",
                                               "refill_count": 2, "language": "es", "channel": "portal"}},
)


def _tensor_proto(value: Any, dtype: Any):
    import tensorflow as tf

    return tf.make_tensor_proto(np.asarray(value) if dtype != tf.string else value, dtype=dtype)


def predict_log(signature: str, inputs: Mapping[str, tuple[Any, Any]], model_name: str = ""):
    """A PredictionLog record (what TF Serving replays from the warmup file)."""
    from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

    request = predict_pb2.PredictRequest(model_spec=model_pb2.ModelSpec(name=model_name, signature_name=signature))
    for key, (value, dtype) in inputs.items():
        request.inputs[key].CopyFrom(_tensor_proto(value, dtype))
    return prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))


def default_warmup_requests(cfg: Any, with_adapter_input: bool, adapter: str = "", text: bool = True) -> list:
    """Requests at each warmup batch size, through the text (if `text`) and token-id signatures."""
    import tensorflow as tf

    logs = []
    new = (int(cfg.warmup_max_new_tokens), tf.int32)
    seed = (0, tf.int64)
    for batch in cfg.warmup_batch_sizes if text else ():
        texts = [json.dumps(WARMUP_REQUESTS[i % len(WARMUP_REQUESTS)]).encode("utf-8") for i in range(int(batch))]
        inputs = {"text": (texts, tf.string), "max_new_tokens": new, "seed": seed}
        if with_adapter_input and adapter:
            inputs["adapter"] = (adapter.encode("utf-8"), tf.string)
        logs.append(predict_log("serving_default", inputs))
    for batch in cfg.warmup_batch_sizes:
        ids = np.tile(np.arange(1, 9, dtype=np.int32)[None, :], [int(batch), 1])
        inputs = {"token_ids": (ids, tf.int32), "padding_mask": (np.ones_like(ids), tf.int32), "max_new_tokens": new, "seed": seed}
        if with_adapter_input and adapter:
            inputs["adapter"] = (adapter.encode("utf-8"), tf.string)
        logs.append(predict_log("generate_ids", inputs))
    return logs


def write_warmup(version_dir: str, logs: Sequence[Any]) -> str:
    import tensorflow as tf

    path = os.path.join(version_dir, WARMUP_FILE)
    tf.io.gfile.makedirs(os.path.dirname(path))
    with tf.io.TFRecordWriter(path) as writer:
        for log in logs:
            writer.write(log.SerializeToString())
    return path


def read_warmup(version_dir: str) -> list:
    import tensorflow as tf
    from tensorflow_serving.apis import prediction_log_pb2

    path = os.path.join(version_dir, WARMUP_FILE)
    return [prediction_log_pb2.PredictionLog.FromString(r.numpy()) for r in tf.data.TFRecordDataset(path)]


def write_models_config(export_root: str, model_name: str, base_path: str | None = None) -> str:
    """Adds or updates `model_name` in `<export_root>/models.config` (text ModelServerConfig)."""
    import tensorflow as tf
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    path = os.path.join(export_root, MODELS_CONFIG_FILE)
    config = model_server_config_pb2.ModelServerConfig()
    if tf.io.gfile.exists(path):
        with tf.io.gfile.GFile(path) as f:
            text_format.Parse(f.read(), config)
    base = base_path or os.path.abspath(os.path.join(export_root, model_name))
    if base_path and not base_path.rstrip("/").endswith(model_name):
        base = base_path.rstrip("/") + "/" + model_name  # a server-side root such as /models
    entries = config.model_config_list.config
    entry = next((e for e in entries if e.name == model_name), None) or entries.add()
    entry.name = model_name
    entry.base_path = base
    entry.model_platform = "tensorflow"
    with tf.io.gfile.GFile(path, "w") as f:
        f.write(text_format.MessageToString(config))
    return path


def export_info(version_dir: str) -> dict:
    with open(os.path.join(version_dir, "assets.extra", "carelora_export.json"), encoding="utf-8") as f:
        return json.load(f)


def _link_tree(src: str, dst: str) -> None:
    """Hard-links every file of src into dst (copies where links are impossible)."""
    for root, _, files in os.walk(src):
        rel = os.path.relpath(root, src)
        if rel.split(os.sep)[0] == "assets.extra":
            continue
        os.makedirs(os.path.join(dst, rel), exist_ok=True)
        for name in files:
            a, b = os.path.join(root, name), os.path.join(dst, rel, name)
            try:
                os.link(a, b)
            except OSError:
                shutil.copy2(a, b)


def add_adapters(
    model_dir: str, from_version: int, to_version: int, adapters: Mapping[str, str], warmup: bool = True
) -> str:
    """Writes version `to_version` = version `from_version` + LoRA adapters loaded at startup.

    `adapters` maps a request-visible name to a LoRA .npz saved by `trainer.models.lora.save_adapter`.
    """
    import tensorflow as tf

    src = os.path.join(model_dir, str(int(from_version)))
    dst = os.path.join(model_dir, str(int(to_version)))
    if os.path.exists(dst):
        raise FileExistsError(f"{dst} exists; TF Serving versions are immutable, pick a new version")
    info = export_info(src)
    layout = info.get("adapter_targets")
    if not layout:
        raise ValueError(f"{src} was exported without adapter slots (config.adapter_slots = 0)")
    slots = int(info["config"]["adapter_slots"])
    if len(adapters) > slots:
        raise ValueError(f"{len(adapters)} adapters given but {src} has {slots} slots")
    logs = []
    manifest = []
    for slot, (name, path) in enumerate(sorted(adapters.items()), start=1):
        weights = adapter_lib.pack_adapter(path, layout)
        logs.append(
            predict_log(
                "load_adapter",
                {"slot": (slot, tf.int32), "name": (name.encode("utf-8"), tf.string), "weights": (weights, tf.float32)},
            )
        )
        manifest.append({"slot": slot, "name": name, "source": os.path.abspath(path), "num_weights": int(weights.size)})
    tmp = dst + ".tmp"
    if os.path.exists(tmp):
        shutil.rmtree(tmp)
    _link_tree(src, tmp)
    os.makedirs(os.path.join(tmp, "assets.extra"), exist_ok=True)
    if warmup:
        cfg = _ConfigView(info["config"])
        text = "serving_default" in info.get("signatures", ["serving_default"])
        for name in sorted(adapters):
            logs += default_warmup_requests(cfg, True, adapter=name, text=text)
    write_warmup(tmp, logs)
    info = dict(info, version=int(to_version), adapters=manifest, base_version=int(from_version))
    with open(os.path.join(tmp, "assets.extra", "carelora_export.json"), "w", encoding="utf-8") as f:
        json.dump(info, f, indent=2, sort_keys=True)
    os.rename(tmp, dst)
    return dst


class _ConfigView:
    """Attribute access to the exported config dict (what default_warmup_requests reads)."""

    def __init__(self, d: Mapping[str, Any]):
        self.__dict__.update(d)


def _parse_adapters(items: Iterable[str]) -> dict[str, str]:
    out = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise SystemExit(f"--adapter wants NAME=PATH.npz, got {item!r}")
        out[name] = path
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m trainer.export.serving", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add-adapters", help="new version = base version + LoRA adapters installed at load")
    add.add_argument("--model_dir", required=True, help="<export_root>/<model_name>")
    add.add_argument("--from_version", type=int, required=True)
    add.add_argument("--to_version", type=int, required=True)
    add.add_argument("--adapter", action="append", default=[], help="NAME=PATH.npz (repeatable)")
    show = sub.add_parser("show", help="print an export's carelora_export.json and warmup requests")
    show.add_argument("version_dir")
    args = parser.parse_args(argv)
    if args.command == "add-adapters":
        out = add_adapters(args.model_dir, args.from_version, args.to_version, _parse_adapters(args.adapter))
        print(out)
    elif args.command == "show":
        print(json.dumps(export_info(args.version_dir), indent=2))
        for log in read_warmup(args.version_dir):
            req = log.predict_log.request
            shapes = {k: [d.size for d in v.tensor_shape.dim] for k, v in req.inputs.items()}
            print(f"warmup: {req.model_spec.signature_name} {shapes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
