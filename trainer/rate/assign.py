"""Who rates what, in which order: pure functions of the item ids, the raters and a seed.

A seeded share of the items (`overlap`) goes to every rater, so agreement can be measured on
them; every other item goes to one rater, dealt so that each rater holds about as many. Each rater
sees their items in their own seeded order, so no position effect is shared between raters.
"""
from __future__ import annotations

import random
from typing import Iterable, Mapping, Sequence


def overlap_ids(item_ids: Iterable[str], share: float, seed: int) -> set[str]:
    """The items every rater rates: round(share * n) of them, chosen by the seed alone."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"rate.overlap: {share} is not a share between 0 and 1")
    ids = sorted(set(item_ids))
    random.Random(f"overlap:{seed}").shuffle(ids)
    return set(ids[: round(share * len(ids))])


def positions(item_ids: Iterable[str], rater_id: int, seed: int) -> dict[str, int]:
    """Item id -> place in this rater's order (stable: an item keeps its place as others come and go)."""
    ids = sorted(set(item_ids))
    rng = random.Random(f"order:{seed}:{rater_id}")
    keys = {i: (rng.random(), i) for i in ids}
    return {item: place for place, item in enumerate(sorted(ids, key=keys.__getitem__))}


def deal(free: Sequence[str], raters: Sequence[int], held: Mapping[int, int], seed: int) -> dict[str, int]:
    """Item -> rater for the free (not yet taken) items, each to the rater holding fewest so far
    (`held`: rater -> items already theirs); ties go to the lower rater id."""
    if not raters:
        return {}
    counts = {r: held.get(r, 0) for r in raters}
    order = sorted(free)
    random.Random(f"deal:{seed}").shuffle(order)
    out = {}
    for item in order:
        rater = min(raters, key=lambda r: (counts[r], r))
        out[item] = rater
        counts[rater] += 1
    return out
