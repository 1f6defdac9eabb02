"""Tokens, constant-time checks, CSRF tokens and the guess limiter."""
import hashlib

import pytest

from trainer.rate import auth


def test_token_round_trip_and_malformed_tokens():
    selector, secret, token = auth.new_token()
    assert token == f"{selector}.{secret}" and auth.split_token(token) == (selector, secret)
    assert len(secret) >= 43  # 256 bits
    for bad in ("", "abc", "a" * 40, f"{selector}.{secret}/x", f"{selector}.{secret}\n", "../../etc.passwd"):
        assert auth.split_token(bad) is None, bad


def test_secret_matches_only_its_hash():
    _, secret, _ = auth.new_token()
    stored = auth.hash_secret(secret)
    assert stored == hashlib.sha256(secret.encode()).hexdigest()
    assert auth.secret_matches(secret, stored)
    assert not auth.secret_matches(secret + "x", stored)
    assert not auth.secret_matches(secret, None)  # unknown selector: still compared, still refused


def test_csrf():
    t = auth.new_csrf()
    assert auth.csrf_matches(t, t) and not auth.csrf_matches(t, t[:-1]) and not auth.csrf_matches(t, None)
    assert not auth.csrf_matches(t, "")


def test_guess_limiter_locks_out_then_forgets():
    now = [0.0]
    limiter = auth.GuessLimiter(3, 60.0, clock=lambda: now[0])
    for _ in range(2):
        limiter.fail("10.0.0.1")
    assert limiter.retry_after("10.0.0.1") == 0
    now[0] = 10.0
    limiter.fail("10.0.0.1")
    assert limiter.retry_after("10.0.0.1") == pytest.approx(50.0)
    assert limiter.retry_after("10.0.0.2") == 0  # per client
    now[0] = 60.0  # the first failure leaves the window
    assert limiter.retry_after("10.0.0.1") == 0
    with pytest.raises(ValueError, match="max_token_failures"):
        auth.GuessLimiter(0, 1.0)
