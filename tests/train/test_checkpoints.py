"""Checkpoint faults: a damaged newest checkpoint falls back, a full disk keeps the last good one."""
import errno
import logging
import os

import numpy as np
import pytest

import keras

from trainer.train import checkpoints


def _vars(value):
    return [keras.Variable(np.full((2, 3), value, "float32")), keras.Variable(np.full((3,), value, "float32"))]


def _save(directory, step, value, keep=3):
    return checkpoints.save(str(directory), step, _vars(value), _vars(value + 0.5), {"best_val": value}, keep,
                            rng_variables=[keras.Variable(np.array([7, step], "int64"))])


def test_round_trip_restores_weights_optimizer_rng_and_loop_state(tmp_path):
    _save(tmp_path, 4, 1.0)
    v, o, r = _vars(0.0), _vars(0.0), [keras.Variable(np.zeros(2, "int64"))]
    path, meta = checkpoints.restore_latest(str(tmp_path), v, o, r)
    assert path.endswith("ckpt-00000004.npz") and meta["step"] == 4 and meta["best_val"] == 1.0
    np.testing.assert_array_equal(v[0].numpy(), np.full((2, 3), 1.0))
    np.testing.assert_array_equal(o[1].numpy(), np.full((3,), 1.5))
    np.testing.assert_array_equal(r[0].numpy(), [7, 4])


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_damaged_newest_checkpoint_falls_back_to_the_previous_one(tmp_path, damage, caplog):
    _save(tmp_path, 4, 1.0)
    newest = _save(tmp_path, 8, 2.0)
    data = open(newest, "rb").read()
    open(newest, "wb").write({"truncate": data[: len(data) // 2], "garbage": os.urandom(300), "empty": b""}[damage])
    v, o = _vars(0.0), _vars(0.0)
    with caplog.at_level(logging.WARNING):
        path, meta = checkpoints.restore_latest(str(tmp_path), v, o)
    assert meta["step"] == 4 and path.endswith("ckpt-00000004.npz")
    assert "ckpt-00000008.npz: unreadable checkpoint" in caplog.text
    assert os.path.exists(newest + ".corrupt") and not os.path.exists(newest)


def test_all_checkpoints_damaged_is_an_error_not_a_fresh_start(tmp_path):
    for step in (4, 8):
        open(_save(tmp_path, step, 1.0), "wb").write(b"not a zip")
    with pytest.raises(checkpoints.CheckpointError, match="every checkpoint in .* is unreadable"):
        checkpoints.restore_latest(str(tmp_path), _vars(0.0), _vars(0.0))
    assert checkpoints.restore_latest(str(tmp_path / "empty"), _vars(0.0), _vars(0.0)) is None


def test_full_disk_keeps_the_previous_checkpoint_and_names_the_path(tmp_path, monkeypatch):
    good = _save(tmp_path, 4, 1.0)

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez", no_space)
    with pytest.raises(OSError, match=r"could not write checkpoint .*ckpt-00000008.npz: No space left") as e:
        _save(tmp_path, 8, 2.0)
    assert e.value.errno == errno.ENOSPC
    monkeypatch.undo()
    assert sorted(os.listdir(tmp_path)) == [os.path.basename(good)]  # no temp file left behind
    assert checkpoints.restore_latest(str(tmp_path), _vars(0.0), _vars(0.0))[1]["step"] == 4
