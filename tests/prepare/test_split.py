"""Patient-level split: no patient in two splits, ratios roughly kept, stratified, seeded."""
import collections
import random

from trainer.prepare import split
from trainer.tasks import task_names

RATIOS = {"train": 0.8, "val": 0.1, "test": 0.1}


def _records(n_patients=400, seed=7):
    rng = random.Random(seed)
    recs = []
    for p in range(n_patients):
        key = split.patient_key(f"MRN{p:05d}", "s3cret")
        main = rng.choice(task_names())
        for _ in range(rng.randint(1, 6)):
            recs.append((key, main if rng.random() < 0.7 else rng.choice(task_names())))
    return recs


def test_no_patient_in_two_splits_and_every_record_assigned():
    recs = _records()
    assignment = split.assign_splits(recs, RATIOS, seed=0)
    assert set(assignment) == {k for k, _ in recs}
    by_split = collections.defaultdict(set)
    for key, _ in recs:
        by_split[assignment[key]].add(key)
    assert not (by_split["train"] & by_split["val"]) and not (by_split["train"] & by_split["test"])
    assert not (by_split["val"] & by_split["test"])


def test_record_shares_follow_ratios_and_each_task_reaches_every_split():
    recs = _records()
    assignment = split.assign_splits(recs, RATIOS, seed=0)
    counts = collections.Counter(assignment[k] for k, _ in recs)
    for name, ratio in RATIOS.items():
        assert abs(counts[name] / len(recs) - ratio) < 0.03, counts
    tasks_in = collections.defaultdict(set)
    for key, task in recs:
        tasks_in[assignment[key]].add(task)
    assert all(tasks_in[s] == set(task_names()) for s in RATIOS)


def test_seeded_and_deterministic():
    recs = _records()
    a = split.assign_splits(recs, RATIOS, seed=0)
    assert a == split.assign_splits(list(reversed(recs)), RATIOS, seed=0)
    assert a != split.assign_splits(recs, RATIOS, seed=1)


def test_tiny_inputs_still_fill_every_split():
    recs = [(f"p{i}", "appointment_reminder") for i in range(3)]
    assert sorted(split.assign_splits(recs, RATIOS, seed=0).values()) == ["test", "train", "val"]


def test_patient_key_is_salted_and_never_the_raw_id():
    key = split.patient_key("MRN-00451", "salt-a")
    assert key != split.patient_key("MRN-00451", "salt-b")
    assert "00451" not in key and len(key) == 16
    assert split.patient_key("  mrn-00451 ", "salt-a") == key  # case and spacing do not make a new patient
