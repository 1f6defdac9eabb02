"""Secret links, browser sessions, CSRF tokens and a limit on token guesses.

A token is `selector.secret`: the selector finds the row, and only a SHA-256 of the secret is
stored, compared in constant time. The secret is 256 random bits, so a fast hash is enough (a slow
password hash protects low-entropy secrets; these cannot be brute-forced offline either way).
"""
from __future__ import annotations

import collections
import hashlib
import hmac
import re
import secrets
import threading
import time

_TOKEN_RE = re.compile(r"([A-Za-z0-9_-]{8,32})\.([A-Za-z0-9_-]{20,128})")
# Compared against when the selector matches no row, so a miss costs what a hit costs.
_DUMMY_HASH = hashlib.sha256(b"carelora-no-such-token").hexdigest()


def new_token() -> tuple[str, str, str]:
    """(selector, secret, token) with token = selector.secret."""
    selector, secret = secrets.token_urlsafe(9), secrets.token_urlsafe(32)
    return selector, secret, f"{selector}.{secret}"


def split_token(token: str) -> tuple[str, str] | None:
    """(selector, secret), or None when the text cannot be a token."""
    m = _TOKEN_RE.fullmatch(token or "")
    return (m.group(1), m.group(2)) if m else None


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def secret_matches(secret: str, stored_hash: str | None) -> bool:
    """Constant-time comparison of the secret's hash with the stored one (None: no such row)."""
    ok = hmac.compare_digest(hash_secret(secret), stored_hash or _DUMMY_HASH)
    return ok and stored_hash is not None


def new_csrf() -> str:
    return secrets.token_urlsafe(32)


def csrf_matches(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


class GuessLimiter:
    """Counts failed token presentations per client; a client over the limit is locked out until
    its oldest failure in the window expires (in memory: a restart forgets, which costs an attacker
    nothing but a 256-bit search space)."""

    def __init__(self, max_failures: int, window_s: float, clock=time.monotonic):
        if max_failures < 1 or window_s <= 0:
            raise ValueError("rate.max_token_failures must be >= 1 and rate.token_failure_window_s > 0")
        self.max_failures, self.window_s, self._clock = max_failures, window_s, clock
        self._failures: dict[str, collections.deque] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str) -> collections.deque:
        q = self._failures.setdefault(client, collections.deque())
        now = self._clock()
        while q and now - q[0] >= self.window_s:
            q.popleft()
        return q

    def retry_after(self, client: str) -> float:
        """Seconds until the client may try again; 0 when it is not locked out."""
        with self._lock:
            q = self._recent(client)
            if len(q) < self.max_failures:
                return 0.0
            return max(0.0, self.window_s - (self._clock() - q[0]))

    def fail(self, client: str) -> None:
        with self._lock:
            self._recent(client).append(self._clock())
