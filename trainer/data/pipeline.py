"""Clean examples -> tokenized, loss-masked, packed rows -> tf.data batches.

Tokenization runs once over the whole file (a batched tokenizer call), then rows are packed in
NumPy with first-fit-decreasing, so the per-step input is a cheap gather. The order of rows is a
pure function of (seed, epoch), which makes resuming at any step exact: the pipeline skips by
index arithmetic instead of replaying a shuffle buffer.

Each row carries:
  token_ids [T]       prompt + response + eos of one or more examples, then padding
  segment_ids [T]     1, 2, ... per example, 0 on padding (attention stays inside a segment)
  positions [T]       position within its own example
  loss_positions [K]  positions whose next token is a response token (logits computed there only)
  loss_targets [K]    those next tokens
  loss_weights [K]    1.0 for real targets, 0.0 for padding of the K axis
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Iterable, Sequence

import ml_collections
import numpy as np
from absl import logging

from trainer.data.prompts import format_prompt
from trainer.data.records import CleanExample, read_clean_examples

FEATURES = ("token_ids", "segment_ids", "positions", "loss_positions", "loss_targets", "loss_weights")


def default_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.train_file = ""  # "" = the shipped sample (trainer/assets/sample/clean_train.jsonl)
    c.val_file = ""  # "" = a held-out slice of train_file (val_fraction), split by patient_key
    c.val_fraction = 0.1
    c.on_error = "raise"  # "raise" | "reject": bad lines go to <workdir>/rejects.jsonl
    c.seq_len = 256  # tokens per packed row
    c.packing = True
    c.max_loss_positions = 0  # K; 0 = the longest row's count, rounded up to a multiple of 16
    c.min_response_tokens = 8  # an example whose prompt leaves fewer is dropped as too long
    c.add_bos = True
    # Where training examples come from: "" or "jsonl" = train_file / the workdir's prepared
    # split; "tfds:NAME" = a TFDS dataset built by trainer/data/tfds_builder.py (NAME, or
    # NAME:VERSION) read from tfds_data_dir (trainer/data/files.py).
    c.source = ""
    c.tfds_data_dir = ""  # "" = <workdir>/tfds
    # Augmented examples (data/augmented.jsonl of --mode=augment) per original in training:
    # 0 = originals only; 0.5 = a seeded half of them; 1 = each once; 2 = each twice.
    c.augmented_weight = 1.0
    return c


@dataclasses.dataclass
class TokenizedExample:
    id: str
    prompt_ids: list[int]
    response_ids: list[int]  # ends with eos

    def __len__(self) -> int:
        return len(self.prompt_ids) + len(self.response_ids)


@dataclasses.dataclass
class PackStats:
    examples: int
    rows: int
    real_tokens: int
    response_tokens: int
    truncated: int
    dropped_too_long: int
    seq_len: int

    @property
    def padding_fraction(self) -> float:
        total = self.rows * self.seq_len
        return 1.0 - self.real_tokens / total if total else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "padding_fraction": round(self.padding_fraction, 4)}


def _tokenize_batch(tokenizer: Any, texts: Sequence[str]) -> list[list[int]]:
    if not texts:
        return []
    ragged = tokenizer(list(texts))
    return [row.tolist() for row in ragged.to_list()] if hasattr(ragged, "to_list") else [list(r) for r in ragged]


def tokenize_examples(
    examples: Sequence[CleanExample], tokenizer: Any, add_bos: bool = True, batch_size: int = 512
) -> list[TokenizedExample]:
    """Prompt and response token ids of each example (bos + prompt, response + eos)."""
    bos = [int(tokenizer.start_token_id)] if add_bos and tokenizer.start_token_id is not None else []
    eos = [int(tokenizer.end_token_id)]
    out: list[TokenizedExample] = []
    for start in range(0, len(examples), batch_size):
        chunk = examples[start : start + batch_size]
        prompts = _tokenize_batch(tokenizer, [format_prompt(e.task, e.facts) for e in chunk])
        responses = _tokenize_batch(tokenizer, [e.response for e in chunk])
        for e, p, r in zip(chunk, prompts, responses):
            out.append(TokenizedExample(e.id, bos + [int(t) for t in p], [int(t) for t in r] + eos))
    return out


def _fit(example: TokenizedExample, seq_len: int, min_response: int) -> TokenizedExample | None:
    """Truncates the response end to fit a row; None when the prompt leaves too little room."""
    if len(example) <= seq_len:
        return example
    room = seq_len - len(example.prompt_ids)
    if room < min_response:
        return None
    return TokenizedExample(example.id, example.prompt_ids, example.response_ids[:room])


def _first_fit_decreasing(lengths: Sequence[int], capacity: int) -> list[list[int]]:
    """Bins of example indices; sorting by length first leaves little padding."""
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    bins: list[list[int]] = []
    free: list[int] = []
    for i in order:
        for b, space in enumerate(free):
            if lengths[i] <= space:
                bins[b].append(i)
                free[b] -= lengths[i]
                break
        else:
            bins.append([i])
            free.append(capacity - lengths[i])
    return bins


def pack(
    tokenized: Sequence[TokenizedExample],
    seq_len: int,
    pad_id: int,
    packing: bool = True,
    max_loss_positions: int = 0,
    min_response_tokens: int = 8,
) -> tuple[dict[str, np.ndarray], PackStats]:
    """Packs examples into rows of `seq_len` tokens; returns feature arrays and statistics."""
    fitted, truncated, dropped = [], 0, 0
    for ex in tokenized:
        f = _fit(ex, seq_len, min_response_tokens)
        if f is None:
            dropped += 1
            logging.warning("example %s: prompt of %d tokens leaves no room in seq_len %d; dropped", ex.id, len(ex.prompt_ids), seq_len)
            continue
        truncated += f is not ex
        fitted.append(f)
    lengths = [len(e) for e in fitted]
    bins = _first_fit_decreasing(lengths, seq_len) if packing else [[i] for i in range(len(fitted))]
    rows = len(bins)
    token_ids = np.full((rows, seq_len), pad_id, np.int32)
    segment_ids = np.zeros((rows, seq_len), np.int32)
    positions = np.zeros((rows, seq_len), np.int32)
    loss_pos: list[list[int]] = []
    loss_tgt: list[list[int]] = []
    for r, members in enumerate(bins):
        cursor, lp, lt = 0, [], []
        for seg, i in enumerate(members, start=1):
            ex = fitted[i]
            ids = ex.prompt_ids + ex.response_ids
            n, p = len(ids), len(ex.prompt_ids)
            token_ids[r, cursor : cursor + n] = ids
            segment_ids[r, cursor : cursor + n] = seg
            positions[r, cursor : cursor + n] = np.arange(n)
            # Position t predicts token t+1; only response tokens are targets, and the last token
            # of a segment predicts nothing (no target crosses into the next example).
            for t in range(p - 1, n - 1):
                lp.append(cursor + t)
                lt.append(ids[t + 1])
            cursor += n
        loss_pos.append(lp)
        loss_tgt.append(lt)
    longest = max((len(lp) for lp in loss_pos), default=1)
    k = max_loss_positions or int(math.ceil(max(longest, 1) / 16) * 16)
    if longest > k:
        raise ValueError(f"max_loss_positions={k} is below the longest row's {longest} response tokens")
    loss_positions = np.zeros((rows, k), np.int32)
    loss_targets = np.zeros((rows, k), np.int32)
    loss_weights = np.zeros((rows, k), np.float32)
    for r, (lp, lt) in enumerate(zip(loss_pos, loss_tgt)):
        loss_positions[r, : len(lp)] = lp
        loss_targets[r, : len(lt)] = lt
        loss_weights[r, : len(lp)] = 1.0
    stats = PackStats(
        examples=len(fitted),
        rows=rows,
        real_tokens=int(sum(lengths)),
        response_tokens=int(loss_weights.sum()),
        truncated=int(truncated),
        dropped_too_long=dropped,
        seq_len=seq_len,
    )
    arrays = dict(
        token_ids=token_ids,
        segment_ids=segment_ids,
        positions=positions,
        loss_positions=loss_positions,
        loss_targets=loss_targets,
        loss_weights=loss_weights,
    )
    return arrays, stats


def pad_rows(arrays: dict[str, np.ndarray], multiple: int) -> dict[str, np.ndarray]:
    """Appends empty rows (no loss weight) so the row count divides `multiple` (fixed shapes)."""
    rows = len(arrays["token_ids"])
    extra = (-rows) % multiple
    if not extra:
        return arrays
    return {k: np.concatenate([v, np.zeros((extra,) + v.shape[1:], v.dtype)]) for k, v in arrays.items()}


def row_order(num_rows: int, seed: int, start: int, count: int) -> np.ndarray:
    """Rows [start, start+count) of the endless stream: epoch e is permutation(seed, e)."""
    out = []
    first_epoch, offset = divmod(start, num_rows)
    epoch = first_epoch
    while sum(len(o) for o in out) < count:
        perm = np.random.default_rng([seed, epoch]).permutation(num_rows)
        out.append(perm[offset:] if epoch == first_epoch else perm)
        epoch += 1
    return np.concatenate(out)[:count] if out else np.zeros((0,), np.int64)


def make_dataset(
    arrays: dict[str, np.ndarray],
    batch_size: int,
    seed: int,
    start_batch: int = 0,
    num_batches: int | None = None,
    shuffle: bool = True,
    input_context: Any = None,
):
    """A tf.data pipeline of batches of rows.

    Training (shuffle=True) is an endless seeded stream beginning at batch `start_batch`
    (resume); evaluation (shuffle=False) is one pass in file order. With an input context
    (tf.distribute), each input pipeline takes its own share of every global batch.
    """
    import tensorflow as tf

    num_rows = len(arrays["token_ids"])
    if shuffle:
        if num_batches is None:
            raise ValueError("a shuffled (training) stream needs num_batches")
        order = row_order(num_rows, seed, start_batch * batch_size, num_batches * batch_size)
    else:
        order = np.arange(num_rows)
    per_replica = batch_size
    if input_context is not None:
        per_replica = input_context.get_per_replica_batch_size(batch_size)
        # Each global batch of `batch_size` rows is split across pipelines, so together the
        # replicas see exactly the rows a single-device run would.
        order = order.reshape(-1, input_context.num_input_pipelines, batch_size // input_context.num_input_pipelines)
        order = order[:, input_context.input_pipeline_id].reshape(-1)
    tensors = {k: tf.constant(v) for k, v in arrays.items()}
    ds = tf.data.Dataset.from_tensor_slices(order.astype(np.int64))
    # Static batch shapes (TPUs need them) whenever nothing would be dropped: training streams,
    # and evaluation rows padded to whole batches (pad_rows).
    ds = ds.batch(per_replica, drop_remainder=shuffle or num_rows % batch_size == 0)
    ds = ds.map(lambda idx: {k: tf.gather(v, idx) for k, v in tensors.items()}, num_parallel_calls=tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.deterministic = True
    return ds.with_options(options).prefetch(tf.data.AUTOTUNE)


def build_rows(
    examples: Sequence[CleanExample], tokenizer: Any, cfg: ml_collections.ConfigDict, pad_id: int, name: str = "train"
) -> tuple[dict[str, np.ndarray], PackStats]:
    """Tokenize + pack, logging the padding waste (and what no packing would have wasted)."""
    tokenized = tokenize_examples(examples, tokenizer, add_bos=cfg.add_bos)
    arrays, stats = pack(tokenized, cfg.seq_len, pad_id, cfg.packing, cfg.max_loss_positions, cfg.min_response_tokens)
    unpacked_rows = stats.examples
    unpacked_waste = 1.0 - stats.real_tokens / max(unpacked_rows * cfg.seq_len, 1)
    logging.info(
        "%s: %d examples -> %d rows of %d tokens; padding %.1f%% of positions (%.1f%% without packing); "
        "%d response tokens; %d truncated; %d dropped as too long",
        name,
        stats.examples,
        stats.rows,
        cfg.seq_len,
        100 * stats.padding_fraction,
        100 * unpacked_waste,
        stats.response_tokens,
        stats.truncated,
        stats.dropped_too_long,
    )
    return arrays, stats


def split_by_patient(
    examples: Sequence[CleanExample], fraction: float, seed: int
) -> tuple[list[CleanExample], list[CleanExample]]:
    """Holds out ~fraction of patients (not of examples), so no patient is on both sides."""
    import hashlib

    def bucket(key: str) -> float:
        digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    train, val = [], []
    for e in examples:
        (val if bucket(e.patient_key or e.id) < fraction else train).append(e)
    return train, val


def examples_from(paths: Iterable[str], **kwargs: Any) -> list[CleanExample]:
    out: list[CleanExample] = []
    for p in paths:
        out += read_clean_examples(p, **kwargs)
    return out
