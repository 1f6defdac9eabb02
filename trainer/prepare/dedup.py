"""Exact and near-duplicate removal (MinHash LSH via datasketch).

Items come in preference order (best first); within a group of duplicates the first one is kept,
so the caller decides which twin survives (prepare puts higher quality first). Near duplicates are
candidates from LSH confirmed on the exact Jaccard of (hashed) character shingles, so the config
threshold means what it says. Different facts in the same template (another name, date, time) stay
apart at the default threshold; the same message resent, re-punctuated or re-signed does not.
"""
from __future__ import annotations

import dataclasses
import hashlib
import re
import unicodedata
from typing import Iterable, Sequence

import ml_collections
import numpy as np


def default_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.exact = True
    c.near = True
    c.threshold = 0.85  # Jaccard similarity of character shingles at or above which texts are near-duplicates
    c.shingle_size = 5
    c.num_perm = 128
    c.seed = 1
    return c


def dedup_text(text: str) -> str:
    """The form compared for duplicates: case, spacing and punctuation are ignored."""
    t = unicodedata.normalize("NFKC", text).casefold()
    t = re.sub(r"[^\w\s]+", " ", t)
    return " ".join(t.split())


def exact_key(text: str) -> str:
    return hashlib.sha1(dedup_text(text).encode("utf-8")).hexdigest()


def shingles(text: str, k: int) -> set[str]:
    t = dedup_text(text)
    if len(t) <= k:
        return {t}
    return {t[i:i + k] for i in range(len(t) - k + 1)}


def minhash(text: str, cfg: ml_collections.ConfigDict):
    """MinHash signature of a text's shingles (separate so a pipeline can compute it in parallel)."""
    from datasketch import MinHash

    m = MinHash(num_perm=cfg.num_perm, seed=cfg.seed)
    m.update_batch([s.encode("utf-8") for s in sorted(shingles(text, cfg.shingle_size))])
    return m


@dataclasses.dataclass
class DedupResult:
    exact: dict[str, str]  # duplicate id -> id of the kept twin
    near: dict[str, tuple[str, float]]  # duplicate id -> (kept twin id, estimated Jaccard)

    @property
    def removed(self) -> set[str]:
        return set(self.exact) | set(self.near)


@dataclasses.dataclass
class Fingerprint:
    """What dedup needs of a text, without the text: computed once per record (in parallel in
    Beam) from the text *before* de-identification, so two copies of one message still match
    after each got its own surrogate names."""

    exact: str
    minhash: object  # datasketch.MinHash, for LSH candidate search
    shingle_hashes: np.ndarray  # sorted unique 64-bit shingle hashes, for the exact Jaccard check


def _shingle_hashes(text: str, k: int) -> np.ndarray:
    hashes = {int.from_bytes(hashlib.blake2b(s.encode("utf-8"), digest_size=8).digest(), "little")
              for s in shingles(text, k)}
    return np.array(sorted(hashes), dtype=np.uint64)


def fingerprint(text: str, cfg: ml_collections.ConfigDict) -> Fingerprint:
    return Fingerprint(exact_key(text), minhash(text, cfg), _shingle_hashes(text, cfg.shingle_size))


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    inter = len(np.intersect1d(a, b, assume_unique=True))
    union = len(a) + len(b) - inter
    return inter / union if union else 1.0


def find_exact_duplicates(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    """items: (id, exact key) in preference order -> {duplicate id: kept id}."""
    first: dict[str, str] = {}
    dupes: dict[str, str] = {}
    for key, h in items:
        if h in first:
            dupes[key] = first[h]
        else:
            first[h] = key
    return dupes


def find_near_duplicates(items: Sequence[tuple[str, Fingerprint]], cfg: ml_collections.ConfigDict
                         ) -> dict[str, tuple[str, float]]:
    """items: (id, fingerprint) in preference order -> {duplicate id: (kept id, Jaccard)}."""
    from datasketch import MinHashLSH

    # LSH recall drops near its threshold; query lower and confirm on the exact Jaccard.
    lsh = MinHashLSH(threshold=max(0.05, cfg.threshold - 0.15), num_perm=cfg.num_perm)
    kept: dict[str, Fingerprint] = {}
    dupes: dict[str, tuple[str, float]] = {}
    for key, fp in items:
        best: tuple[str, float] | None = None
        for cand in lsh.query(fp.minhash):
            j = jaccard(fp.shingle_hashes, kept[cand].shingle_hashes)
            if j >= cfg.threshold and (best is None or j > best[1] or (j == best[1] and cand < best[0])):
                best = (cand, j)
        if best is not None:
            dupes[key] = (best[0], round(best[1], 4))
        else:
            lsh.insert(key, fp.minhash)
            kept[key] = fp
    return dupes


def deduplicate(items: Sequence[tuple[str, Fingerprint]], cfg: ml_collections.ConfigDict) -> DedupResult:
    """items: (id, fingerprint) in preference order (best first). Exact first, then near
    duplicates among the survivors."""
    exact = find_exact_duplicates((k, f.exact) for k, f in items) if cfg.exact else {}
    rest = [(k, f) for k, f in items if k not in exact]
    near = find_near_duplicates(rest, cfg) if cfg.near else {}
    return DedupResult(exact, near)
