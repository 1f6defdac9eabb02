"""A serving-side client that knows nothing of carelora: loads an export and calls it.

Run in a fresh process (tests do): it imports TensorFlow, TensorFlow Text unless told not to
(its ops back the text signature's tokenizer), and the tensorflow-serving-api protos only to
replay warmup records the way TF Serving does at load. It never imports project code or
keras-hub, and says what it imported (`imported`), which the tests check.

    python tests/export/serving_client.py REQUESTS.json OUT.json

REQUESTS.json: {"text_ops": bool, "jobs": [{"model_dir": ..., "replay_warmup": bool, "calls":
[{"signature": ..., "inputs": {name: {"value": ..., "dtype": ...}}}]}]}. Inputs a call leaves out
take the SignatureDef defaults, as in TF Serving. OUT.json gets, per job, the signature list,
each call's outputs (or its error message), and the modules that were imported.
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def _to_json(value):
    value = value.numpy() if hasattr(value, "numpy") else value
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "SO":
            return [_to_json(v) for v in value.tolist()] if value.ndim else value.item().decode("utf-8", "replace")
        return value.tolist()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, list):
        return [_to_json(v) for v in value]
    return value.item() if hasattr(value, "item") else value


def _signature_defaults(model_dir):
    """SignatureDef.defaults from saved_model.pb: the inputs TF Serving fills in when omitted."""
    from tensorflow.core.protobuf import saved_model_pb2

    with open(os.path.join(model_dir, "saved_model.pb"), "rb") as f:
        proto = saved_model_pb2.SavedModel.FromString(f.read())
    return {
        name: {k: tf.make_ndarray(v) for k, v in sig.defaults.items()}
        for name, sig in proto.meta_graphs[0].signature_def.items()
    }


def _call(loaded, defaults, name, inputs):
    """Calls a signature as TF Serving does: omitted inputs take the SignatureDef defaults."""
    full = {k: tf.constant(v) for k, v in defaults.get(name, {}).items()}
    full.update(inputs)
    return loaded.signatures[name](**full)


def _replay_warmup(loaded, defaults, model_dir):
    """Runs every warmup record against its signature, as tensorflow_model_server does at load."""
    from tensorflow_serving.apis import prediction_log_pb2

    path = os.path.join(model_dir, "assets.extra", "tf_serving_warmup_requests")
    replayed = []
    for record in tf.data.TFRecordDataset(path):
        log = prediction_log_pb2.PredictionLog.FromString(record.numpy())
        request = log.predict_log.request
        name = request.model_spec.signature_name or "serving_default"
        inputs = {k: tf.constant(tf.make_ndarray(v)) for k, v in request.inputs.items()}
        _call(loaded, defaults, name, inputs)
        replayed.append(name)
    return replayed


def _run_job(job):
    loaded = tf.saved_model.load(job["model_dir"])
    defaults = _signature_defaults(job["model_dir"])
    result = {"model_dir": job["model_dir"], "signatures": sorted(loaded.signatures.keys()), "calls": []}
    result["defaults"] = {k: {n: _to_json(v) for n, v in d.items()} for k, d in defaults.items()}
    if job.get("replay_warmup"):
        result["warmup"] = _replay_warmup(loaded, defaults, job["model_dir"])
    for call in job["calls"]:
        try:
            inputs = {k: tf.constant(v["value"], dtype=v["dtype"]) for k, v in call["inputs"].items()}
            outputs = _call(loaded, defaults, call["signature"], inputs)
            result["calls"].append({k: _to_json(v) for k, v in outputs.items()})
        except Exception as e:  # the test asserts on the message
            result["calls"].append({"error": type(e).__name__, "message": str(e)[-2000:]})
    return result


def main(requests_path, out_path):
    with open(requests_path, encoding="utf-8") as f:
        spec = json.load(f)
    if spec.get("text_ops", True):
        import tensorflow_text  # noqa: F401  (registers the tokenizer ops the text signature uses)
    result = {"jobs": [_run_job(job) for job in spec["jobs"]]}
    result["imported"] = sorted(
        m for m in sys.modules if m.split(".")[0] in {"trainer", "keras", "keras_hub", "tf_keras", "tensorflow_text"}
    )
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
