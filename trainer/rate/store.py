"""The ratings store: one SQLite file (default DIR/rate/ratings.sqlite), versioned migrations.

Schema (version 1; `PRAGMA user_version` holds the version, MIGRATIONS the steps to it):
    raters(id, name, name_key UNIQUE, role rater|admin, token_selector UNIQUE, token_hash, active, created_at)
    sessions(selector PK, secret_hash, rater_id -> raters, csrf_token, created_at, expires_at)
    items(item_id PK, example_id, model, task, language, channel, facts_text, facts_json, message,
          message_sha256, overlap 0|1, status shown|withheld|retired, updated_at)
    assignments(rater_id, item_id, position, served_at; PK (rater_id, item_id))
    ratings(id AUTOINCREMENT, rater_id, item_id, skipped 0|1, comment, rated_at; UNIQUE (rater_id, item_id))
    scores(rating_id -> ratings ON DELETE CASCADE, dimension, value 1-5; PK (rating_id, dimension))
    audit(id AUTOINCREMENT, at, rater_id, action, item_id, detail)    append-only (triggers refuse
          UPDATE and DELETE)
    meta(key PK, value)                                                 seed, overlap, base_url

Every connection runs in WAL mode with synchronous=FULL and a busy timeout, and every write is
one `BEGIN IMMEDIATE` transaction that also appends its audit row, so a rating is on disk before
the page that follows it is served, and two writers queue instead of failing. Timestamps are UTC
ISO-8601. A new schema version is a new MIGRATIONS entry (never an edit of an old one).
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import os
import re
import sqlite3
import unicodedata
from typing import Any, Iterator, Mapping, Sequence

from trainer.eval.human import DIMENSIONS
from trainer.rate import assign
from trainer.rate.items import Item, facts_json


@dataclasses.dataclass(frozen=True)
class Migration:
    version: int
    description: str
    sql: str


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "raters, sessions, items, assignments, ratings, scores, audit, meta", """
CREATE TABLE raters (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('rater', 'admin')),
    token_selector TEXT NOT NULL UNIQUE,
    token_hash TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at TEXT NOT NULL
);
CREATE TABLE sessions (
    selector TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL,
    rater_id INTEGER NOT NULL REFERENCES raters(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE TABLE items (
    item_id TEXT PRIMARY KEY,
    example_id TEXT NOT NULL,
    model TEXT NOT NULL,
    task TEXT NOT NULL,
    language TEXT NOT NULL,
    channel TEXT NOT NULL,
    facts_text TEXT NOT NULL,
    facts_json TEXT NOT NULL,
    message TEXT NOT NULL,
    message_sha256 TEXT NOT NULL,
    overlap INTEGER NOT NULL DEFAULT 0 CHECK (overlap IN (0, 1)),
    status TEXT NOT NULL CHECK (status IN ('shown', 'withheld', 'retired')),
    updated_at TEXT NOT NULL
);
CREATE TABLE assignments (
    rater_id INTEGER NOT NULL REFERENCES raters(id) ON DELETE CASCADE,
    item_id TEXT NOT NULL REFERENCES items(item_id),
    position INTEGER NOT NULL,
    served_at TEXT,
    PRIMARY KEY (rater_id, item_id)
);
CREATE TABLE ratings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rater_id INTEGER NOT NULL REFERENCES raters(id),
    item_id TEXT NOT NULL REFERENCES items(item_id),
    skipped INTEGER NOT NULL DEFAULT 0 CHECK (skipped IN (0, 1)),
    comment TEXT NOT NULL DEFAULT '',
    rated_at TEXT NOT NULL,
    UNIQUE (rater_id, item_id)
);
CREATE TABLE scores (
    rating_id INTEGER NOT NULL REFERENCES ratings(id) ON DELETE CASCADE,
    dimension TEXT NOT NULL,
    value INTEGER NOT NULL CHECK (value BETWEEN 1 AND 5),
    PRIMARY KEY (rating_id, dimension)
);
CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    rater_id INTEGER,
    action TEXT NOT NULL,
    item_id TEXT,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE INDEX ratings_by_item ON ratings(item_id);
CREATE INDEX assignments_by_item ON assignments(item_id);
"""),
)


class StoreError(RuntimeError):
    """A store that cannot be used as asked; the message names the file and what to do."""


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def name_key(name: str) -> str:
    """A rater name as a file-name-safe key ('Nurse Ana Díaz' -> 'nurse-ana-diaz')."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").casefold()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def _statements(sql: str) -> Iterator[str]:
    """Splits a script into whole statements (trigger bodies hold ';' too)."""
    buf = ""
    for line in sql.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            yield buf.strip()
            buf = ""
    if buf.strip():
        raise ValueError(f"incomplete SQL statement in a migration: {buf.strip()[:60]!r}")


def migrate(conn: sqlite3.Connection, path: str, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Applies every pending migration in one transaction; returns the version reached."""
    latest = migrations[-1].version if migrations else 0
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > latest:
            raise StoreError(f"{path}: schema version {version} is newer than this code knows ({latest}); "
                             "update carelora")
        for m in migrations:
            if m.version > version:
                for statement in _statements(m.sql):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {int(m.version)}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return max(version, latest)


class Store:
    """All reads and writes of the ratings; each call opens its own connection (thread-safe)."""

    def __init__(self, path: str, migrations: Sequence[Migration] = MIGRATIONS):
        self.path = path
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        if not os.path.exists(path):
            # Owner-only from the first byte: the file holds patient messages (SQLite gives its
            # -wal and -shm files the same mode).
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        with self.connect() as conn:
            self.version = migrate(conn, path, migrations)

    @contextlib.contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        try:
            conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        except sqlite3.Error as e:
            raise StoreError(f"{self.path}: cannot open the ratings store ({e})") from e
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            yield conn
        finally:
            conn.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self.connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    @staticmethod
    def _audit(conn: sqlite3.Connection, rater_id: int | None, action: str, item_id: str | None = None,
               detail: Mapping[str, Any] | str = "") -> None:
        text = detail if isinstance(detail, str) else json.dumps(detail, ensure_ascii=False, sort_keys=True)
        conn.execute("INSERT INTO audit(at, rater_id, action, item_id, detail) VALUES (?, ?, ?, ?, ?)",
                      (now(), rater_id, action, item_id, text))

    def audit(self, rater_id: int | None, action: str, item_id: str | None = None,
              detail: Mapping[str, Any] | str = "") -> None:
        with self.transaction() as conn:
            self._audit(conn, rater_id, action, item_id, detail)

    def audit_tail(self, n: int = 50) -> list[dict[str, Any]]:
        with self.connect() as conn:
            rows = conn.execute("SELECT a.*, r.name FROM audit a LEFT JOIN raters r ON r.id = a.rater_id "
                                "ORDER BY a.id DESC LIMIT ?", (n,)).fetchall()
        return [dict(r) for r in rows]

    # --- meta ---------------------------------------------------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        with self.connect() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row["value"] if row else default

    def set_meta(self, values: Mapping[str, Any]) -> None:
        with self.transaction() as conn:
            conn.executemany("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                             [(k, str(v)) for k, v in values.items()])

    # --- raters and tokens ----------------------------------------------------------------
    def add_rater(self, name: str, role: str, selector: str, token_hash: str) -> int:
        """Adds a rater (or admin) holding the given token hash; deals them their items."""
        name = " ".join(name.split())
        key = name_key(name)
        if not key:
            raise ValueError(f"rater name {name!r}: needs at least one letter or digit")
        if role not in ("rater", "admin"):
            raise ValueError(f"role {role!r}: must be 'rater' or 'admin'")
        with self.transaction() as conn:
            clash = conn.execute("SELECT name FROM raters WHERE name_key = ?", (key,)).fetchone()
            if clash:
                raise ValueError(f"rater name {name!r}: {clash['name']!r} already exists in {self.path} "
                                 "(use new-link to issue a new link)")
            cur = conn.execute("INSERT INTO raters(name, name_key, role, token_selector, token_hash, created_at) "
                               "VALUES (?, ?, ?, ?, ?, ?)", (name, key, role, selector, token_hash, now()))
            rater_id = int(cur.lastrowid)
            self._audit(conn, None, "add_" + role, None, {"rater_id": rater_id, "name": name})
            self._deal(conn)
        return rater_id

    def _rater(self, conn: sqlite3.Connection, name: str) -> sqlite3.Row:
        row = conn.execute("SELECT * FROM raters WHERE name_key = ?", (name_key(name),)).fetchone()
        if row is None:
            raise ValueError(f"no rater named {name!r} in {self.path}")
        return row

    def replace_token(self, name: str, selector: str, token_hash: str) -> int:
        """A new link for a rater (the old one and its browser sessions stop working)."""
        with self.transaction() as conn:
            row = self._rater(conn, name)
            conn.execute("UPDATE raters SET token_selector = ?, token_hash = ?, active = 1 WHERE id = ?",
                         (selector, token_hash, row["id"]))
            conn.execute("DELETE FROM sessions WHERE rater_id = ?", (row["id"],))
            self._audit(conn, None, "new_link", None, {"rater_id": row["id"]})
            self._deal(conn)
        return int(row["id"])

    def revoke(self, name: str) -> int:
        """Deactivates a rater: the link and sessions stop working, unrated items go to the others."""
        with self.transaction() as conn:
            row = self._rater(conn, name)
            conn.execute("UPDATE raters SET active = 0 WHERE id = ?", (row["id"],))
            conn.execute("DELETE FROM sessions WHERE rater_id = ?", (row["id"],))
            self._audit(conn, None, "revoke", None, {"rater_id": row["id"]})
            self._deal(conn)
        return int(row["id"])

    def token_hash_of(self, selector: str) -> tuple[dict[str, Any] | None, str | None]:
        """(active rater, stored token hash) for a token selector; (None, None) when unknown."""
        with self.connect() as conn:
            row = conn.execute("SELECT * FROM raters WHERE token_selector = ? AND active = 1", (selector,)).fetchone()
        return (dict(row), row["token_hash"]) if row else (None, None)

    def raters(self) -> list[dict[str, Any]]:
        """Every rater with progress: rated, skipped, total (their items still to rate or done)."""
        with self.connect() as conn:
            rows = conn.execute("SELECT * FROM raters ORDER BY id").fetchall()
            out = []
            for r in rows:
                d = dict(r)
                d.pop("token_hash")
                d.pop("token_selector")
                if r["role"] == "rater":
                    d.update(self._progress(conn, r["id"]))
                    last = conn.execute("SELECT MAX(rated_at) FROM ratings WHERE rater_id = ?", (r["id"],)).fetchone()[0]
                    d["last_rated_at"] = last
                out.append(d)
        return out

    # --- sessions ---------------------------------------------------------------------------
    def add_session(self, rater_id: int, selector: str, secret_hash: str, csrf: str, hours: float) -> None:
        created = datetime.datetime.now(datetime.timezone.utc)
        expires = created + datetime.timedelta(hours=hours)
        fmt = "%Y-%m-%dT%H:%M:%S.%fZ"
        with self.transaction() as conn:
            conn.execute("DELETE FROM sessions WHERE expires_at < ?", (created.strftime(fmt),))
            conn.execute("INSERT INTO sessions(selector, secret_hash, rater_id, csrf_token, created_at, expires_at) "
                         "VALUES (?, ?, ?, ?, ?, ?)",
                         (selector, secret_hash, rater_id, csrf, created.strftime(fmt), expires.strftime(fmt)))
            self._audit(conn, rater_id, "sign_in")

    def session_of(self, selector: str) -> tuple[dict[str, Any] | None, str | None]:
        """(session joined with its active rater, stored secret hash); (None, None) when unknown or expired."""
        with self.connect() as conn:
            row = conn.execute(
                "SELECT s.selector, s.secret_hash, s.csrf_token, s.expires_at, r.id AS rater_id, r.name, r.role "
                "FROM sessions s JOIN raters r ON r.id = s.rater_id WHERE s.selector = ? AND r.active = 1 "
                "AND s.expires_at > ?", (selector, now())).fetchone()
        return (dict(row), row["secret_hash"]) if row else (None, None)

    def end_session(self, selector: str) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM sessions WHERE selector = ?", (selector,))

    # --- items and assignments --------------------------------------------------------------
    def sync_items(self, shown: Sequence[Item], withheld: Sequence[Item], overlap: float, seed: int) -> dict[str, int]:
        """Makes the items table match eval/ (retiring items no longer there) and deals them out.

        A rated item whose message changed is refused: its ratings would be credited to a message
        nobody rated.
        """
        ids = {it.item_id for it in shown} | {it.item_id for it in withheld}
        shared = assign.overlap_ids([it.item_id for it in shown], overlap, seed)
        stamp = now()
        with self.transaction() as conn:
            existing = {r["item_id"]: r["message_sha256"] for r in conn.execute("SELECT item_id, message_sha256 FROM items")}
            rated = {r[0] for r in conn.execute("SELECT DISTINCT item_id FROM ratings")}
            changed = sorted(i.item_id for i in list(shown) + list(withheld)
                             if i.item_id in existing and existing[i.item_id] != i.message_sha256)
            bad = [i for i in changed if i in rated]
            if bad:
                raise StoreError(f"{self.path}: items {bad[:5]} were rated, but eval/rating_sheet.csv now holds other "
                                 "messages under those ids (a new eval round); move this file away to start a "
                                 "new rating round, or restore the eval/ that was rated")
            conn.execute(f"DELETE FROM assignments WHERE item_id IN ({','.join('?' * len(changed))})", changed)
            for status, group in (("shown", shown), ("withheld", withheld)):
                for it in group:
                    conn.execute(
                        "INSERT INTO items(item_id, example_id, model, task, language, channel, facts_text, facts_json, "
                        "message, message_sha256, overlap, status, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) "
                        "ON CONFLICT(item_id) DO UPDATE SET example_id=excluded.example_id, model=excluded.model, "
                        "task=excluded.task, language=excluded.language, channel=excluded.channel, "
                        "facts_text=excluded.facts_text, facts_json=excluded.facts_json, message=excluded.message, "
                        "message_sha256=excluded.message_sha256, overlap=excluded.overlap, status=excluded.status, "
                        "updated_at=excluded.updated_at",
                        (it.item_id, it.example_id, it.model, it.task, it.language, it.channel, it.facts_text,
                         facts_json(it), it.message, it.message_sha256, int(it.item_id in shared), status, stamp))
            retired = [i for i in existing if i not in ids]
            conn.executemany("UPDATE items SET status = 'retired', updated_at = ? WHERE item_id = ?",
                             [(stamp, i) for i in retired])
            for k, v in (("seed", seed), ("overlap", overlap)):
                conn.execute("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                             (k, str(v)))
            self._audit(conn, None, "sync_items", None, {"shown": len(shown), "withheld": len(withheld),
                                                        "retired": len(retired), "overlap_items": len(shared)})
            self._deal(conn)
        return {"shown": len(shown), "withheld": len(withheld), "retired": len(retired), "overlap_items": len(shared)}

    def _deal(self, conn: sqlite3.Connection) -> None:
        """Gives every active rater the shared items, and deals the free unshared ones out evenly.

        An unshared item stays where it is once its rater has opened or rated it, or anyone has
        rated it; only the rest is dealt again when raters come and go.
        """
        row = conn.execute("SELECT value FROM meta WHERE key = 'seed'").fetchone()
        seed = int(row[0]) if row else 0
        raters = [r[0] for r in conn.execute("SELECT id FROM raters WHERE role = 'rater' AND active = 1 ORDER BY id")]
        items = conn.execute("SELECT item_id, overlap FROM items WHERE status = 'shown' ORDER BY item_id").fetchall()
        all_ids = [r["item_id"] for r in items]
        order = {r: assign.positions(all_ids, r, seed) for r in raters}
        # Assignments of retired or withheld items and of inactive raters that nobody started go.
        conn.execute("DELETE FROM assignments WHERE served_at IS NULL AND NOT EXISTS (SELECT 1 FROM ratings x "
                     "WHERE x.rater_id = assignments.rater_id AND x.item_id = assignments.item_id) AND ("
                     "item_id NOT IN (SELECT item_id FROM items WHERE status = 'shown') OR "
                     "rater_id NOT IN (SELECT id FROM raters WHERE role = 'rater' AND active = 1))")
        shared = [r["item_id"] for r in items if r["overlap"]]
        for rater in raters:
            conn.executemany("INSERT OR IGNORE INTO assignments(rater_id, item_id, position) VALUES (?, ?, ?)",
                             [(rater, i, order[rater][i]) for i in shared])
        unshared = {r["item_id"] for r in items if not r["overlap"]}
        active = set(raters)
        held: dict[int, int] = {}
        taken: set[str] = set()
        for a in conn.execute("SELECT a.rater_id, a.item_id, a.served_at, EXISTS (SELECT 1 FROM ratings x WHERE "
                              "x.rater_id = a.rater_id AND x.item_id = a.item_id) AS done FROM assignments a"):
            if a["item_id"] in unshared and a["rater_id"] in active and (a["served_at"] or a["done"]):
                taken.add(a["item_id"])
                held[a["rater_id"]] = held.get(a["rater_id"], 0) + 1
        taken |= {r[0] for r in conn.execute("SELECT DISTINCT item_id FROM ratings WHERE skipped = 0")} & unshared
        free = sorted(unshared - taken)
        conn.executemany("DELETE FROM assignments WHERE item_id = ? AND served_at IS NULL AND NOT EXISTS (SELECT 1 "
                         "FROM ratings x WHERE x.rater_id = assignments.rater_id AND x.item_id = assignments.item_id)",
                         [(i,) for i in free])
        dealt = assign.deal(free, raters, held, seed)
        conn.executemany("INSERT OR REPLACE INTO assignments(rater_id, item_id, position) VALUES (?, ?, ?)",
                         [(r, i, order[r][i]) for i, r in dealt.items()])

    _OPEN = ("FROM assignments a JOIN items i ON i.item_id = a.item_id WHERE a.rater_id = :r AND i.status = 'shown' "
             "AND NOT EXISTS (SELECT 1 FROM ratings x WHERE x.item_id = a.item_id AND x.rater_id = :r) "
             "AND (i.overlap = 1 OR NOT EXISTS (SELECT 1 FROM ratings y WHERE y.item_id = a.item_id "
             "AND y.rater_id <> :r AND y.skipped = 0))")

    def _progress(self, conn: sqlite3.Connection, rater_id: int) -> dict[str, int]:
        left = conn.execute("SELECT COUNT(*) " + self._OPEN, {"r": rater_id}).fetchone()[0]
        rated, skipped = conn.execute(
            "SELECT COALESCE(SUM(skipped = 0), 0), COALESCE(SUM(skipped = 1), 0) FROM ratings x JOIN items i "
            "ON i.item_id = x.item_id WHERE x.rater_id = ? AND i.status = 'shown'", (rater_id,)).fetchone()
        return {"rated": int(rated), "skipped": int(skipped), "left": int(left), "total": int(rated + skipped + left)}

    def progress(self, rater_id: int) -> dict[str, int]:
        with self.connect() as conn:
            return self._progress(conn, rater_id)

    def assigned_item(self, rater_id: int, item_id: str) -> dict[str, Any] | None:
        """The item when it is this rater's (rated or not), else None."""
        with self.connect() as conn:
            row = conn.execute("SELECT i.* FROM assignments a JOIN items i ON i.item_id = a.item_id WHERE "
                               "a.rater_id = ? AND a.item_id = ? AND i.status = 'shown'", (rater_id, item_id)).fetchone()
        return dict(row) if row else None

    def next_item(self, rater_id: int, prefer: str | None = None) -> dict[str, Any] | None:
        """The rater's next item in their order (or `prefer`, when it is one of their open items);
        marks it served, so it stays theirs."""
        with self.transaction() as conn:
            row = None
            if prefer:
                row = conn.execute("SELECT i.* " + self._OPEN + " AND a.item_id = :i", {"r": rater_id, "i": prefer}).fetchone()
            if row is None:
                row = conn.execute("SELECT i.* " + self._OPEN + " ORDER BY a.position LIMIT 1", {"r": rater_id}).fetchone()
            if row is None:
                return None
            conn.execute("UPDATE assignments SET served_at = COALESCE(served_at, ?) WHERE rater_id = ? AND item_id = ?",
                         (now(), rater_id, row["item_id"]))
        return dict(row)

    # --- ratings ------------------------------------------------------------------------------
    def save_rating(self, rater_id: int, item_id: str, scores: Mapping[str, int] | None, comment: str = "") -> int:
        """Stores one rating (scores None = skipped), replacing this rater's earlier one of the item.
        Raises LookupError when the item is not this rater's."""
        if scores is not None:
            unknown = set(scores) - set(DIMENSIONS)
            if unknown:
                raise ValueError(f"unknown dimensions {sorted(unknown)}; expected {list(DIMENSIONS)}")
            for d, v in scores.items():
                if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= 5:
                    raise ValueError(f"field '{d}': rating {v!r} is not an integer 1-5")
        with self.transaction() as conn:
            ok = conn.execute("SELECT 1 FROM assignments a JOIN items i ON i.item_id = a.item_id WHERE a.rater_id = ? "
                              "AND a.item_id = ? AND i.status = 'shown'", (rater_id, item_id)).fetchone()
            if not ok:
                raise LookupError(f"item {item_id!r} is not one of this rater's items")
            conn.execute("DELETE FROM ratings WHERE rater_id = ? AND item_id = ?", (rater_id, item_id))
            cur = conn.execute("INSERT INTO ratings(rater_id, item_id, skipped, comment, rated_at) VALUES (?, ?, ?, ?, ?)",
                               (rater_id, item_id, int(scores is None), comment, now()))
            rating_id = int(cur.lastrowid)
            conn.executemany("INSERT INTO scores(rating_id, dimension, value) VALUES (?, ?, ?)",
                             [(rating_id, d, v) for d, v in (scores or {}).items()])
            self._audit(conn, rater_id, "skip" if scores is None else "rate", item_id,
                        {"scores": dict(scores or {}), "comment": bool(comment)})
        return rating_id

    def undo(self, rater_id: int) -> str | None:
        """Removes the rater's latest rating (or skip); returns its item id, None when there is none."""
        with self.transaction() as conn:
            row = conn.execute("SELECT id, item_id FROM ratings WHERE rater_id = ? ORDER BY id DESC LIMIT 1",
                               (rater_id,)).fetchone()
            if row is None:
                return None
            conn.execute("DELETE FROM ratings WHERE id = ?", (row["id"],))
            self._audit(conn, rater_id, "undo", row["item_id"])
        return row["item_id"]

    def ratings(self, rater_id: int | None = None) -> list[dict[str, Any]]:
        """Every rating (of shown items) with its rater, item and scores, oldest first."""
        sql = ("SELECT x.id, x.rater_id, r.name AS rater, r.name_key, x.item_id, x.skipped, x.comment, x.rated_at, "
               "i.example_id, i.model, i.task, i.language, i.channel, i.facts_text, i.facts_json, i.message, "
               "i.message_sha256, i.overlap FROM ratings x JOIN raters r ON r.id = x.rater_id "
               "JOIN items i ON i.item_id = x.item_id WHERE i.status = 'shown'")
        args: tuple = ()
        if rater_id is not None:
            sql += " AND x.rater_id = ?"
            args = (rater_id,)
        with self.connect() as conn:
            rows = [dict(r) for r in conn.execute(sql + " ORDER BY x.id", args)]
            scores: dict[int, dict[str, int]] = {}
            for s in conn.execute("SELECT rating_id, dimension, value FROM scores"):
                scores.setdefault(s["rating_id"], {})[s["dimension"]] = s["value"]
        for r in rows:
            r["scores"] = scores.get(r["id"], {})
        return rows

    def item_counts(self) -> dict[str, int]:
        with self.connect() as conn:
            return {r[0]: r[1] for r in conn.execute("SELECT status, COUNT(*) FROM items GROUP BY status")}
