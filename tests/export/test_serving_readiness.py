"""The export as TF Serving would see it: fresh processes with no project code load and call it.

TF Serving's binary cannot be installed here (DESIGN.md §3), so serving-readiness is shown by
what the server relies on: the `<name>/<version>/` layout, models.config, SignatureDef defaults,
warmup records replayed at load, op availability per signature, and outputs that equal the
in-process generation for the same seed.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tests.export.export_models import tiny_bundle, tiny_export_config
from trainer.export import op_audit, saved_model, serving
from trainer.models import lora

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLIENT = os.path.join(ROOT, "tests", "export", "serving_client.py")
# Two rows everywhere, and warmup at batch 2: every call reuses the shape warmup compiled.
REQUESTS = [
    json.dumps({"task": "prescription_refill", "facts": {"preferred_name": "Luis", "medication": "metformina 500 mg",
                                                          "refill_count": 2, "language": "es"}}, ensure_ascii=False),
    "Hi Ana, your appointment",
]
IDS = [[464, 3290, 318, 257, 1332, 0, 0], [11, 22, 33, 44, 55, 66, 77]]
MASK = [[1, 1, 1, 1, 1, 0, 0], [1] * 7]
SAMPLED = {"temperature": 0.8, "seed": 11}


def _inputs(**named):
    dtypes = {"text": "string", "token_ids": "int32", "padding_mask": "int32", "temperature": "float32",
              "seed": "int64", "max_new_tokens": "int32", "adapter": "string"}
    return {k: {"value": v, "dtype": dtypes[k]} for k, v in named.items()}


def _in_process(fn, **named):
    out = fn(**{k: tf.constant(v, dtype=_inputs(**{k: v})[k]["dtype"]) for k, v in named.items()})
    return {k: v.numpy() for k, v in out.items()}


def _run_client(tmp_path, jobs, text_ops=True, name="client"):
    spec, out = tmp_path / f"{name}_in.json", tmp_path / f"{name}_out.json"
    spec.write_text(json.dumps({"text_ops": text_ops, "jobs": jobs}))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, CLIENT, str(spec), str(out)], capture_output=True, text=True, env=env,
                          cwd=str(tmp_path), timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Exports (tiny GPT-2 text + token-id models, an adapter-slot base with one adapter, tiny
    Gemma 3) and the in-process outputs they must reproduce."""
    root = tmp_path_factory.mktemp("export")
    ref = {}
    gpt2 = tiny_bundle("gpt2")
    cfg = tiny_export_config(ids_model_name="tiny_ids", warmup_batch_sizes=(2,))
    module, sigs = saved_model.make_serving_module(gpt2.backbone, gpt2.tokenizer, cfg)
    ref["text_greedy"] = _in_process(module.serving_default, text=REQUESTS)
    ref["text_sampled"] = _in_process(module.serving_default, text=REQUESTS, **SAMPLED)
    ref["ids_greedy"] = _in_process(module.generate_ids, token_ids=IDS, padding_mask=MASK)
    ref["ids_sampled"] = _in_process(module.generate_ids, token_ids=IDS, padding_mask=MASK, **SAMPLED)
    saved_model.export_module(module, sigs, str(root), "tiny", 1)  # the graph that made `ref`

    # Adapter: the merged LoRA model in process vs. base + adapter slot in a fresh process.
    tuned = tiny_bundle("gpt2")
    wrappers = lora.apply_lora(tuned.backbone, rank=4, alpha=8.0, targets=("query", "value"))
    rng = np.random.default_rng(1)
    for w in wrappers:
        w.lora_b.assign(rng.normal(0, 0.5, w.lora_b.shape).astype("float32"))
    adapter_path = str(root / "clinic_a.npz")
    lora.save_adapter(tuned.backbone, adapter_path)
    lora.merge_lora(tuned.backbone)
    merged, _ = saved_model.make_serving_module(tuned.backbone, tuned.tokenizer, tiny_export_config())
    ref["adapter"] = _in_process(merged.generate_ids, token_ids=IDS, padding_mask=MASK)
    base = tiny_bundle("gpt2")
    slot_cfg = tiny_export_config(adapter_slots=2, adapter_rank=8, warmup_batch_sizes=(2,))
    saved_model.export_serving(base.backbone, base.tokenizer, str(root), "multi", 1, slot_cfg)
    serving.add_adapters(str(root / "multi"), 1, 2, {"clinic_a": adapter_path})

    gemma = tiny_bundle("gemma3")
    gcfg = tiny_export_config(warmup_batch_sizes=(2,))
    gmodule, gsigs = saved_model.make_serving_module(gemma.backbone, gemma.tokenizer, gcfg)
    ref["gemma_sampled"] = _in_process(gmodule.serving_default, text=REQUESTS, **SAMPLED)
    saved_model.export_module(gmodule, gsigs, str(root), "gemma", 1)
    return root, ref


@pytest.fixture(scope="module")
def client_result(exported, tmp_path_factory):
    root, _ = exported
    jobs = [
        {"model_dir": str(root / "tiny" / "1"), "replay_warmup": True, "calls": [
            {"signature": "serving_default", "inputs": _inputs(text=REQUESTS)},
            {"signature": "serving_default", "inputs": _inputs(text=REQUESTS, **SAMPLED)},
            {"signature": "generate_ids", "inputs": _inputs(token_ids=IDS, padding_mask=MASK)},
            {"signature": "generate_ids", "inputs": _inputs(token_ids=IDS, padding_mask=MASK, **SAMPLED)},
            {"signature": "serving_default", "inputs": _inputs(text=[])},
            {"signature": "generate_ids", "inputs": _inputs(token_ids=IDS, padding_mask=[[1, 1]])},
            {"signature": "serving_default", "inputs": _inputs(text=['{"task": "t", "facts": [1]}'])},
            {"signature": "generate_ids", "inputs": dict(_inputs(padding_mask=MASK),
                                                         token_ids={"value": IDS, "dtype": "float32"})},
            {"signature": "generate_ids", "inputs": _inputs(token_ids=[IDS[0], IDS[1][:-1] + [50257]],
                                                            padding_mask=MASK)},
        ]},
        {"model_dir": str(root / "multi" / "2"), "replay_warmup": True, "calls": [
            {"signature": "generate_ids", "inputs": _inputs(token_ids=IDS, padding_mask=MASK, adapter="clinic_a")},
            {"signature": "generate_ids", "inputs": _inputs(token_ids=IDS, padding_mask=MASK)},
            {"signature": "adapter_names", "inputs": {}},
        ]},
        {"model_dir": str(root / "gemma" / "1"), "replay_warmup": True, "calls": [
            {"signature": "serving_default", "inputs": _inputs(text=REQUESTS, **SAMPLED)},
        ]},
    ]
    return _run_client(tmp_path_factory.mktemp("client"), jobs)


def _texts(outputs):
    return [t.decode() if isinstance(t, bytes) else t for t in outputs["text"]]


def test_fresh_process_without_project_code_reproduces_in_process_generation(exported, client_result):
    _, ref = exported
    assert not [m for m in client_result["imported"] if m.split(".")[0] in ("trainer", "keras_hub")]
    calls = client_result["jobs"][0]["calls"]
    for got, key in zip(calls[:2], ("text_greedy", "text_sampled")):
        assert got["text"] == _texts(ref[key]), key
        assert got["num_tokens"] == ref[key]["num_tokens"].tolist()
    assert calls[1]["seed"] == [11, 11]
    for got, key in zip(calls[2:4], ("ids_greedy", "ids_sampled")):
        assert got["token_ids"] == ref[key]["token_ids"].tolist(), key
    assert calls[0]["text"] != calls[1]["text"]  # sampling really changed something
    gemma = client_result["jobs"][2]["calls"][0]
    assert gemma["text"] == _texts(ref["gemma_sampled"]) and min(gemma["num_tokens"]) > 0


def test_bad_requests_fail_with_clear_errors_in_the_served_model(client_result):
    errors = client_result["jobs"][0]["calls"][4:]
    assert all(e.get("error") == "InvalidArgumentError" for e in errors), errors
    assert "empty batch" in errors[0]["message"]
    assert "token_ids and padding_mask must have the same shape" in errors[1]["message"]
    assert "not an object" in errors[2]["message"]
    assert "expected to be a int32 tensor but is a float tensor" in errors[3]["message"]
    # An id past GPT-2's 50257-token vocabulary: refused in the graph, naming the row, not the ids.
    assert "token_ids out of vocabulary: ids where padding_mask is 1 must be in [0, 50257)" in errors[4]["message"]
    assert "(request row] [1] [of the batch" in errors[4]["message"] and "3290" not in errors[4]["message"]


def test_signature_defaults_and_warmup_records_are_what_tf_serving_uses(exported, client_result):
    root, _ = exported
    job = client_result["jobs"][0]
    assert job["signatures"] == ["generate_ids", "serving_default"]
    assert job["defaults"]["serving_default"] == {"max_new_tokens": 6, "temperature": 0.0, "top_k": 0,
                                                  "top_p": 1.0, "seed": -1}
    assert job["warmup"] == ["serving_default", "generate_ids"]
    logs = serving.read_warmup(str(root / "tiny" / "1"))
    assert len(logs[0].predict_log.request.inputs["text"].string_val) == 2
    assert logs[1].predict_log.request.inputs["token_ids"].tensor_shape.dim[0].size == 2


def test_adapter_installed_by_warmup_gives_the_merged_model_output(exported, client_result):
    root, ref = exported
    job = client_result["jobs"][1]
    assert job["warmup"][0] == "load_adapter"
    assert job["calls"][0]["token_ids"] == ref["adapter"]["token_ids"].tolist()
    assert job["calls"][1]["token_ids"] != job["calls"][0]["token_ids"]  # "" is the base model
    assert job["calls"][2]["names"] == ["", "clinic_a", ""]
    v1, v2 = root / "multi" / "1", root / "multi" / "2"
    assert os.path.samefile(v1 / "variables" / "variables.data-00000-of-00001", v2 / "variables" / "variables.data-00000-of-00001")
    assert os.path.getsize(root / "clinic_a.npz") < 50_000


def test_token_id_model_loads_and_runs_with_core_tensorflow_only(exported, tmp_path):
    root, ref = exported
    jobs = [{"model_dir": str(root / "tiny_ids" / "1"), "replay_warmup": True, "calls": [
        {"signature": "generate_ids", "inputs": _inputs(token_ids=IDS, padding_mask=MASK, **SAMPLED)}]}]
    result = _run_client(tmp_path, jobs, text_ops=False, name="core")
    assert "tensorflow_text" not in result["imported"]
    assert result["jobs"][0]["signatures"] == ["generate_ids"]
    assert result["jobs"][0]["calls"][0]["token_ids"] == ref["ids_sampled"]["token_ids"].tolist()


def _audit(tmp_path, *export_dirs, core_only=("generate_ids",)):
    report = tmp_path / "audit.json"
    proc = subprocess.run(
        [sys.executable, "-m", "trainer.export.op_audit", *map(str, export_dirs), "--json", str(report),
         "--core_only", *core_only],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    return proc.returncode, json.loads(report.read_text()), proc.stdout


def test_op_audit_finds_text_ops_only_outside_the_token_id_signature(exported, tmp_path):
    root, _ = exported
    rc, (text, ids_only, gemma), stdout = _audit(tmp_path, root / "tiny" / "1", root / "tiny_ids" / "1", root / "gemma" / "1")
    assert rc == 0, stdout
    assert text["non_core"]["generate_ids"] == []
    assert "RegexSplitWithOffsets" in text["non_core"]["serving_default"]  # GPT-2 BPE is a TF Text op
    assert {"While", "Einsum", "TopKV2"} <= set(text["signatures"]["generate_ids"])
    assert not {"PyFunc", "EagerPyFunc"} & set(text["all_ops"])
    assert ids_only["all_non_core"] == []  # loadable by a server without TF Text
    assert any(op.startswith("Sentencepiece") for op in gemma["non_core"]["serving_default"])
    rc, (text,), _ = _audit(tmp_path, root / "tiny" / "1", core_only=("serving_default",))
    assert rc == 1 and text["failures"] == {"serving_default": ["RegexSplitWithOffsets"]}


def test_op_audit_walks_nested_functions(tmp_path):
    # While/If bodies are separate library functions; the walk must reach ops only they hold.
    @tf.function(input_signature=[tf.TensorSpec([], tf.int32)])
    def f(n):
        return tf.while_loop(lambda i: i < n, lambda i: tf.cond(i > 3, lambda: i + 2, lambda: tf.bitwise.invert(i) * 0 + i + 1), [0])

    module = tf.Module()
    module.f = f
    path = str(tmp_path / "audit_probe")
    tf.saved_model.save(module, path, signatures={"serving_default": f})
    ops = op_audit.signature_ops(path)["serving_default"]
    assert {"While", "If", "Invert"} <= ops or {"StatelessWhile", "StatelessIf", "Invert"} <= ops


def test_saved_model_cli_lists_both_signatures(exported):
    root, _ = exported
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    proc = subprocess.run([cli, "show", "--dir", str(root / "tiny" / "1"), "--all"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for name in ("serving_default", "generate_ids"):
        assert f"signature_def['{name}']" in proc.stdout
    assert "inputs['text'] tensor_info" in proc.stdout and "inputs['padding_mask'] tensor_info" in proc.stdout


def test_models_config_lists_every_exported_model(exported):
    root, _ = exported
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    config = text_format.Parse((root / "models.config").read_text(), model_server_config_pb2.ModelServerConfig())
    entries = {e.name: e for e in config.model_config_list.config}
    assert set(entries) == {"tiny", "tiny_ids", "multi", "gemma"}
    for name, entry in entries.items():
        assert entry.model_platform == "tensorflow"
        assert os.path.isfile(os.path.join(entry.base_path, "1", "saved_model.pb")), name
    assert sorted(os.listdir(root / "multi")) == ["1", "2"]
