"""The SQLite store: migrations, dealing items to raters, ratings, undo, audit, concurrency."""
import hashlib
import os
import sqlite3
import threading

import pytest

from trainer.eval import human
from trainer.rate import assign, auth, items as items_lib, stage
from trainer.rate import store as store_module
from trainer.rate.store import MIGRATIONS, Migration, Store, StoreError, name_key

from tests.rate.conftest import write_eval


def load(workdir):
    return items_lib.load_items(os.path.join(workdir, "eval"))


def fresh(tmp_path, n_raters=2, overlap=0.25, n=6):
    write_eval(str(tmp_path), n=n)
    store = Store(str(tmp_path / "r.sqlite"))
    store.sync_items(load(str(tmp_path)), [], overlap, seed=0)
    ids = [store.add_rater(f"Rater {i}", "rater", f"sel{i:08d}", "h" * 64) for i in range(n_raters)]
    return store, ids


def assigned(store, rater_id):
    with store.connect() as c:
        return {r[0]: r[1] for r in c.execute("SELECT item_id, position FROM assignments WHERE rater_id = ?", (rater_id,))}


def shared_ids(store):
    with store.connect() as c:
        return {r[0] for r in c.execute("SELECT item_id FROM items WHERE overlap = 1")}


# --- schema and migrations ---------------------------------------------------------------------

def test_fresh_store_has_the_documented_schema(tmp_path):
    store = Store(str(tmp_path / "r.sqlite"))
    with store.connect() as c:
        tables = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert c.execute("PRAGMA user_version").fetchone()[0] == MIGRATIONS[-1].version == store.version
        assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert {"raters", "sessions", "items", "assignments", "ratings", "scores", "audit", "meta"} <= tables
    doc = store_module.__doc__
    for table in tables - {"sqlite_sequence"}:
        assert f"{table}(" in doc, f"table {table} is not documented in store.py's docstring"
    Store(str(tmp_path / "r.sqlite"))  # reopening migrates nothing and fails nothing
    assert os.stat(tmp_path / "r.sqlite").st_mode & 0o777 == 0o600  # it holds patient messages


def test_a_new_migration_upgrades_an_old_store_and_keeps_its_rows(tmp_path):
    path = str(tmp_path / "r.sqlite")
    store = Store(path)
    store.set_meta({"seed": 3})
    v2 = MIGRATIONS + (Migration(2, "rater e-mail", "ALTER TABLE raters ADD COLUMN email TEXT;"),)
    upgraded = Store(path, migrations=v2)
    assert upgraded.version == 2 and upgraded.get_meta("seed") == "3"
    with upgraded.connect() as c:
        assert "email" in [r[1] for r in c.execute("PRAGMA table_info(raters)")]
    with pytest.raises(StoreError, match=r"r\.sqlite: schema version 2 is newer than this code knows \(1\)"):
        Store(path)


def test_a_failing_migration_leaves_the_store_as_it_was(tmp_path):
    path = str(tmp_path / "r.sqlite")
    Store(path)
    broken = MIGRATIONS + (Migration(2, "half", "CREATE TABLE extra (x INTEGER);\nINSERT INTO nowhere VALUES (1);"),)
    with pytest.raises(sqlite3.OperationalError, match="nowhere"):
        Store(path, migrations=broken)
    with sqlite3.connect(path) as c:
        assert c.execute("PRAGMA user_version").fetchone()[0] == 1
        assert not c.execute("SELECT name FROM sqlite_master WHERE name = 'extra'").fetchall()


def test_audit_log_is_append_only(tmp_path):
    store, _ = fresh(tmp_path)
    with store.connect() as c:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            c.execute("UPDATE audit SET action = 'x'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            c.execute("DELETE FROM audit")


# --- dealing -------------------------------------------------------------------------------------

def test_shared_items_go_to_everyone_and_the_rest_is_dealt_evenly(tmp_path):
    store, (a, b) = fresh(tmp_path, overlap=0.25)  # 12 items: 3 shared, 9 dealt 5/4
    shared = shared_ids(store)
    assert len(shared) == 3
    got_a, got_b = assigned(store, a), assigned(store, b)
    assert shared <= set(got_a) and shared <= set(got_b)
    own_a, own_b = set(got_a) - shared, set(got_b) - shared
    assert not own_a & own_b and len(own_a | own_b) == 9 and abs(len(own_a) - len(own_b)) <= 1
    assert store.progress(a)["total"] == len(got_a)


def test_overlap_and_order_are_pure_functions_of_the_seed():
    ids = [f"item-{i}" for i in range(50)]
    assert assign.overlap_ids(ids, 0.2, 1) == assign.overlap_ids(list(reversed(ids)), 0.2, 1)
    assert len(assign.overlap_ids(ids, 0.2, 1)) == 10 and assign.overlap_ids(ids, 0.2, 1) != assign.overlap_ids(ids, 0.2, 2)
    assert assign.positions(ids, 1, 0) == assign.positions(ids[::-1], 1, 0) != assign.positions(ids, 2, 0)
    with pytest.raises(ValueError, match="rate.overlap"):
        assign.overlap_ids(ids, 1.5, 0)


def test_a_new_rater_takes_only_items_nobody_started(tmp_path):
    store, (a, b) = fresh(tmp_path, overlap=0.0)
    started = store.next_item(a)["item_id"]  # served to a: stays a's
    store.save_rating(a, started, {d: 3 for d in human.DIMENSIONS})
    opened = store.next_item(a)["item_id"]
    c = store.add_rater("Rater 2", "rater", "selC0000", "h" * 64)
    got_a, got_b, got_c = assigned(store, a), assigned(store, b), assigned(store, c)
    assert started in got_a and opened in got_a
    assert not set(got_a) & set(got_b) and not set(got_a) & set(got_c) and not set(got_b) & set(got_c)
    assert len(set(got_a) | set(got_b) | set(got_c)) == 12
    assert sorted(len(x) for x in (got_a, got_b, got_c)) == [4, 4, 4]
    # Revoking c hands c's unstarted items back to the others.
    store.revoke("Rater 2")
    assert not assigned(store, c)
    assert len(set(assigned(store, a)) | set(assigned(store, b))) == 12


# --- ratings -------------------------------------------------------------------------------------

def test_rate_skip_undo_and_resume(tmp_path):
    store, (a, _) = fresh(tmp_path)
    first = store.next_item(a)
    assert store.next_item(a)["item_id"] == first["item_id"]  # nothing rated: the same item again (resume)
    store.save_rating(a, first["item_id"], {"relevance": 5, "accuracy": 4, "empathy": 3, "personalization": 2}, "ok")
    second = store.next_item(a)
    assert second["item_id"] != first["item_id"]
    store.save_rating(a, second["item_id"], None)
    p = store.progress(a)
    assert (p["rated"], p["skipped"], p["left"]) == (1, 1, p["total"] - 2)
    rows = store.ratings(a)
    assert [(r["item_id"], r["skipped"], r["scores"], r["comment"]) for r in rows] == [
        (first["item_id"], 0, {"relevance": 5, "accuracy": 4, "empathy": 3, "personalization": 2}, "ok"),
        (second["item_id"], 1, {}, "")]
    assert store.undo(a) == second["item_id"]
    assert store.next_item(a)["item_id"] == second["item_id"]
    assert store.undo(a) == first["item_id"] and store.undo(a) is None
    actions = [e["action"] for e in reversed(store.audit_tail())]
    assert actions[-4:] == ["rate", "skip", "undo", "undo"]


def test_rating_again_replaces_and_bad_values_are_refused(tmp_path):
    store, (a, b) = fresh(tmp_path)
    item = store.next_item(a)["item_id"]
    store.save_rating(a, item, {d: 2 for d in human.DIMENSIONS})
    store.save_rating(a, item, {d: 4 for d in human.DIMENSIONS})
    assert [r["scores"]["empathy"] for r in store.ratings(a)] == [4]
    with pytest.raises(ValueError, match="field 'empathy': rating 6"):
        store.save_rating(a, item, {"empathy": 6})
    with pytest.raises(ValueError, match="unknown dimensions"):
        store.save_rating(a, item, {"tone": 3})
    theirs = next(i for i in assigned(store, b) if i not in assigned(store, a))
    with pytest.raises(LookupError):
        store.save_rating(a, theirs, {"empathy": 3})
    with store.connect() as c, pytest.raises(sqlite3.IntegrityError):
        c.execute("INSERT INTO scores(rating_id, dimension, value) VALUES (1, 'x', 9)")


def test_an_unshared_item_rated_by_one_is_not_offered_to_another(tmp_path):
    store, (a, b) = fresh(tmp_path, overlap=0.0)
    item = store.next_item(a)["item_id"]
    with store.connect() as c:  # as if a re-deal had also given it to b before a rated it
        c.execute("INSERT INTO assignments(rater_id, item_id, position) VALUES (?, ?, -1)", (b, item))
    store.save_rating(a, item, {d: 3 for d in human.DIMENSIONS})
    assert store.next_item(b)["item_id"] != item


def test_sync_refuses_changed_messages_of_rated_items_and_retires_gone_ones(tmp_path):
    store, (a, _) = fresh(tmp_path)
    store.save_rating(a, store.next_item(a)["item_id"], {d: 3 for d in human.DIMENSIONS})
    # A new eval round with other outputs reuses the same seeded item ids.
    write_eval(str(tmp_path), outputs={"finetuned": [f"New text {i}" for i in range(6)],
                                       "baseline": [f"Other {i}" for i in range(6)]})
    with pytest.raises(StoreError, match=r"r\.sqlite: items \[.*\] were rated"):
        store.sync_items(load(str(tmp_path)), [], 0.25, 0)
    # Fewer examples, same seed: the first items keep their ids and texts, the others retire.
    write_eval(str(tmp_path), n=6)
    other = Store(str(tmp_path / "other.sqlite"))
    other.sync_items(load(str(tmp_path)), [], 0.0, 0)
    write_eval(str(tmp_path), n=2)
    other.sync_items(load(str(tmp_path)), [], 0.0, 0)
    assert other.item_counts() == {"shown": 4, "retired": 8}


def test_tokens_and_sessions_are_stored_hashed(tmp_path):
    store = Store(str(tmp_path / "r.sqlite"))
    token = stage.issue_rater(store, "Nurse Ana Díaz")
    selector, secret = auth.split_token(token)
    rater, stored = store.token_hash_of(selector)
    assert rater["name"] == "Nurse Ana Díaz" and rater["name_key"] == name_key("Nurse Ana Díaz") == "nurse-ana-diaz"
    assert stored == hashlib.sha256(secret.encode()).hexdigest()
    with open(store.path, "rb") as f:
        raw = f.read()
    for name in os.listdir(tmp_path):
        with open(tmp_path / name, "rb") as f:
            raw += f.read()
    assert secret.encode() not in raw
    with pytest.raises(ValueError, match="already exists"):
        stage.issue_rater(store, "nurse  ana diaz")
    new = stage.reissue(store, "Nurse Ana Díaz")
    assert store.token_hash_of(selector) == (None, None) and store.token_hash_of(auth.split_token(new)[0])[0]


def test_two_writers_at_once_lose_nothing(tmp_path):
    store, (a, b) = fresh(tmp_path, overlap=1.0)  # both raters rate all 12 items
    errors = []

    def rate_all(rater):
        try:
            own = Store(store.path)  # each thread its own Store, as two server workers would
            while (item := own.next_item(rater)) is not None:
                own.save_rating(rater, item["item_id"], {d: 1 + rater % 5 for d in human.DIMENSIONS})
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=rate_all, args=(r,)) for r in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert len(Store(store.path).ratings()) == 24
