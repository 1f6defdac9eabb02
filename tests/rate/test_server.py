"""The real server (waitress): two raters at once, a restart in the middle, tokens and CSRF over HTTP."""
import threading

import pytest
import requests

from trainer.eval import human
from trainer.rate import stage
from trainer.rate.app import COOKIE, create_app
from trainer.rate.server import Server, is_loopback
from trainer.rate.store import Store

from tests.rate.conftest import csrf_of, item_of


def serve(store, config, workdir):
    return Server(create_app(store, config.rate, workdir, config.eval), "127.0.0.1", 0, threads=4).start()


def signed_in(url, token):
    s = requests.Session()
    r = s.get(f"{url}/r/{token}", timeout=10)
    assert r.status_code == 200 and r.url == f"{url}/rate"
    return s, r


def rate_n(session, url, page, n, score):
    """Rates n items; returns the ids rated (each committed before the next page is asked for)."""
    done = []
    for _ in range(n):
        item = item_of(page.text)
        form = {"csrf_token": csrf_of(page.text), "item_id": item, "action": "save", "comment": ""}
        form.update({d: str(score) for d in human.DIMENSIONS})
        page = session.post(f"{url}/rate", data=form, timeout=10)
        assert page.status_code == 200 and page.url == f"{url}/rate", page.status_code
        done.append(item)
    return done, page


def test_two_raters_at_once_and_a_restart_lose_nothing(prepared):
    workdir, store, _, config = prepared
    tokens = {"Ana": stage.issue_rater(store, "Ana"), "Ben": stage.issue_rater(store, "Ben")}
    server = serve(store, config, workdir)
    url = server.url
    sessions = {name: signed_in(url, t) for name, t in tokens.items()}
    rated, errors = {}, []

    def work(name, score):
        try:
            s, page = sessions[name]
            rated[name], sessions[name] = rate_n(s, url, page, 3, score)[0], (s, None)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n, sc)) for n, sc in (("Ana", 4), ("Ben", 2))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    server.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/rate", timeout=2)

    # A fresh process would open the same file: a new Store and app on the same path.
    store2 = Store(store.path)
    server2 = serve(store2, config, workdir)
    try:
        by_rater = {}
        for r in store2.ratings():
            by_rater.setdefault(r["rater"], []).append((r["item_id"], r["scores"]["empathy"]))
        assert by_rater == {"Ana": [(i, 4) for i in rated["Ana"]], "Ben": [(i, 2) for i in rated["Ben"]]}
        # The browser's session survives the restart and resumes after the last rated item.
        s = sessions["Ana"][0]
        page = s.get(f"{server2.url}/rate", timeout=10)
        assert page.status_code == 200 and item_of(page.text) not in rated["Ana"]
        assert "3 of " in page.text
    finally:
        server2.stop()


def test_over_http_wrong_or_missing_token_is_403_and_post_without_csrf_is_refused(prepared):
    workdir, store, _, config = prepared
    token = stage.issue_rater(store, "Ana")
    server = serve(store, config, workdir)
    try:
        url = server.url
        assert requests.get(f"{url}/rate", timeout=10).status_code == 403
        r = requests.get(f"{url}/r/{token[:-3]}abc", timeout=10, allow_redirects=False)
        assert r.status_code == 403 and COOKIE not in r.cookies
        s, page = signed_in(url, token)
        form = {"item_id": item_of(page.text), "action": "save"}
        form.update({d: "5" for d in human.DIMENSIONS})
        r = s.post(f"{url}/rate", data=form, timeout=10)
        assert r.status_code == 403 and "CSRF" in r.text
        r = requests.post(f"{url}/rate", data=dict(form, csrf_token=csrf_of(page.text)), timeout=10)
        assert r.status_code == 403  # the token without the session cookie is worth nothing
        assert store.ratings() == []
        assert r.headers["Server"] == "carelora"
    finally:
        server.stop()


def test_loopback_detection():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.0.0.5") and not is_loopback("example.org")
