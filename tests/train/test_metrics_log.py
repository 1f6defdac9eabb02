"""metrics.jsonl: rows appended with their numbers in TensorBoard; resume keeps rows up to the checkpoint."""
import json

import tensorflow as tf

from trainer.train import metrics_log


def _steps(path):
    return [json.loads(line)["step"] for line in path.read_text().splitlines()]


def test_append_writes_a_row_and_numeric_scalars(tmp_path):
    path = tmp_path / "metrics.jsonl"
    writer = tf.summary.create_file_writer(str(tmp_path / "tb"))
    metrics_log.append(str(path), {"step": 3, "loss": 1.5, "val_loss": None, "flag": True, "note": "x"}, writer)
    metrics_log.append(str(path), {"step": 4, "loss": 1.25}, None)
    writer.flush()
    assert [json.loads(line) for line in path.read_text().splitlines()] == [
        {"step": 3, "loss": 1.5, "val_loss": None, "flag": True, "note": "x"}, {"step": 4, "loss": 1.25}]
    tags = {}
    for event_file in (tmp_path / "tb").iterdir():
        for event in tf.compat.v1.train.summary_iterator(str(event_file)):
            for value in event.summary.value:
                tags[value.tag] = (event.step, float(tf.make_ndarray(value.tensor)))
    assert tags == {"loss": (3, 1.5), "flag": (3, 1.0)}  # None and text are not scalars


def test_start_truncates_on_resume_and_starts_fresh_otherwise(tmp_path, caplog):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 2, "loss": 1.0}\n\n{"step": 4, "loss": 0.9}\n{"step": 6, "lo')
    with caplog.at_level("WARNING"):
        metrics_log.start(str(path), 4)
    assert _steps(path) == [2, 4]
    assert "metrics.jsonl:4: damaged line dropped" in caplog.text
    metrics_log.start(str(path), 2)
    assert _steps(path) == [2]
    metrics_log.start(str(path), None)  # no checkpoint: the run starts over
    assert not path.exists()
    metrics_log.start(str(path), 5)  # resuming without a file is fine
    assert not path.exists()
