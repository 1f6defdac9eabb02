"""The web app through Flask's test client: sign-in, blinding, CSRF, guess limits, clear 4xx answers."""
import logging

import pytest

from trainer.eval import human
from trainer.rate import stage
from trainer.rate.app import COOKIE, create_app

from tests.rate.conftest import csrf_of, item_of


@pytest.fixture
def env(prepared):
    workdir, store, info, config = prepared
    config.rate.max_token_failures = 5
    app = create_app(store, config.rate, workdir, config.eval)
    tokens = {"ana": stage.issue_rater(store, "Ana"), "ben": stage.issue_rater(store, "Ben")}
    return app, store, tokens, info


def sign_in(app, token):
    client = app.test_client()
    r = client.get(f"/r/{token}")
    assert r.status_code == 303, r.status_code
    return client, client.get(r.headers["Location"])


def rate(client, page, **scores):
    form = {"csrf_token": csrf_of(page.text), "item_id": item_of(page.text), "action": "save", "comment": ""}
    form.update({d: str(scores.get(d, 4)) for d in human.DIMENSIONS})
    return client.post("/rate", data=form)


def rater_id(store, token):
    return store.token_hash_of(token.partition(".")[0])[0]["id"]


def test_link_signs_in_and_the_page_is_blinded(env):
    app, store, tokens, _ = env
    client, page = sign_in(app, tokens["ana"])
    assert page.status_code == 200 and page.request.path == "/rate"
    item = store.assigned_item(rater_id(store, tokens["ana"]), item_of(page.text))
    assert item["message"] in page.text and item["task"].replace("_", " ") in page.text
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    assert tokens["ana"] not in cookie.value
    for model in ("baseline", "finetuned"):
        assert model not in page.text
    assert "<script" in page.text and "autofocus" in page.text
    assert page.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["Referrer-Policy"] == "no-referrer"


def test_rating_is_stored_before_the_next_item_and_undo_brings_it_back(env):
    app, store, tokens, _ = env
    client, page = sign_in(app, tokens["ana"])
    first = item_of(page.text)
    r = rate(client, page, relevance=5, accuracy=4, empathy=3, personalization=2)
    assert r.status_code == 303 and r.headers["Location"] == "/rate"
    rows = store.ratings()
    assert [(x["item_id"], x["rater"], x["scores"]) for x in rows] == [
        (first, "Ana", {"relevance": 5, "accuracy": 4, "empathy": 3, "personalization": 2})]
    page = client.get("/rate")
    assert item_of(page.text) != first and "1 of " in page.text
    r = client.post("/rate", data={"csrf_token": csrf_of(page.text), "item_id": item_of(page.text), "action": "skip"})
    assert r.status_code == 303 and store.ratings()[-1]["skipped"] == 1
    r = client.post("/undo", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 303 and r.headers["Location"] == f"/rate?item={item_of(page.text)}"
    assert len(store.ratings()) == 1


def test_a_rater_sees_only_their_own_items_and_not_the_admin_page(env):
    app, store, tokens, _ = env
    ana, page = sign_in(app, tokens["ana"])
    a, b = rater_id(store, tokens["ana"]), rater_id(store, tokens["ben"])
    with store.connect() as c:
        bens_own = c.execute("SELECT item_id FROM assignments WHERE rater_id = ? AND item_id NOT IN "
                             "(SELECT item_id FROM assignments WHERE rater_id = ?)", (b, a)).fetchone()[0]
    form = {"csrf_token": csrf_of(page.text), "item_id": bens_own, "action": "save"}
    form.update({d: "3" for d in human.DIMENSIONS})
    r = ana.post("/rate", data=form)
    assert r.status_code == 409 and "not one of yours" in r.text
    assert ana.get(f"/rate?item={bens_own}").status_code == 200 and bens_own not in ana.get(f"/rate?item={bens_own}").text
    assert ana.get("/admin").status_code == 403
    assert ana.get("/admin/ratings.jsonl").status_code == 403
    assert store.ratings() == []


def test_wrong_or_missing_token_gets_403_and_guessing_is_limited(env):
    app, store, tokens, _ = env
    client = app.test_client()
    assert client.get("/rate").status_code == 403
    assert client.get("/").status_code == 403
    sel, _, _ = tokens["ana"].partition(".")
    for bad in ("nonsense", f"{sel}.{'x' * 43}", "AAAAAAAAAAAA." + "y" * 43):
        r = client.get(f"/r/{bad}")
        assert r.status_code == 403 and "not valid" in r.text
    client.set_cookie(COOKIE, "AAAAAAAAAAAA." + "z" * 43)
    assert client.get("/rate").status_code == 403
    r = client.get("/r/still-wrong")  # the 5th failure
    assert r.status_code == 403
    r = client.get(f"/r/{tokens['ana']}")  # locked out: even the right token waits
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    other = app.test_client()
    assert other.get(f"/r/{tokens['ana']}", environ_base={"REMOTE_ADDR": "10.1.1.1"}).status_code == 303


def test_post_without_or_with_a_wrong_csrf_token_is_refused(env):
    app, store, tokens, _ = env
    client, page = sign_in(app, tokens["ana"])
    form = {"item_id": item_of(page.text), "action": "save"}
    form.update({d: "4" for d in human.DIMENSIONS})
    for csrf in (None, "wrong", csrf_of(page.text)[:-2]):
        data = dict(form, **({"csrf_token": csrf} if csrf is not None else {}))
        r = client.post("/rate", data=data)
        assert r.status_code == 403 and "CSRF" in r.text
    assert client.post("/undo").status_code == 403
    assert client.post("/signout").status_code == 403
    assert store.ratings() == []


def test_bad_requests_get_clear_4xx_never_500(env):
    app, store, tokens, _ = env
    client, page = sign_in(app, tokens["ana"])
    csrf, item = csrf_of(page.text), item_of(page.text)
    base = {"csrf_token": csrf, "item_id": item, "action": "save"}
    cases = [
        (dict(base, relevance="7", accuracy="3", empathy="3", personalization="3"), 400, "Give relevance a score"),
        (dict(base, relevance="", accuracy="x", empathy="3", personalization="3"), 400, "Give relevance, accuracy"),
        (dict(base, action="delete"), 400, "Field &#39;action&#39;"),
        ({"csrf_token": csrf, "action": "save"}, 400, "Field &#39;item_id&#39;"),
        (dict(base, item_id="../../etc"), 400, "Field &#39;item_id&#39;"),
        (dict(base, item_id="item-0000000000", relevance="3", accuracy="3", empathy="3", personalization="3"), 409,
         "not one of yours"),
        (dict(base, comment="x" * 3000, relevance="3", accuracy="3", empathy="3", personalization="3"), 400,
         "Field &#39;comment&#39;"),
    ]
    for data, status, text in cases:
        r = client.post("/rate", data=data)
        assert r.status_code == status, (data, r.status_code)
        assert text in r.text, (text, r.text[:500])
    r = client.post("/rate", data=dict(base, relevance="7", accuracy="3", empathy="3", personalization="3"))
    assert 'value="3"' in r.text and item_of(r.text) == item  # the form comes back with what was typed
    assert client.post("/rate", data=b"x" * 100_000, content_type="application/x-www-form-urlencoded").status_code == 413
    assert client.get("/undo").status_code == 405
    assert client.get("/nowhere").status_code == 404
    assert client.get("/rate?item=%00%ff").status_code == 200
    assert client.get("/admin/sheets/..%2Fx.csv").status_code in (403, 404)
    assert store.ratings() == []


def test_no_token_or_patient_text_in_the_server_log(env, caplog):
    app, store, tokens, _ = env
    caplog.set_level(logging.DEBUG)
    client, page = sign_in(app, tokens["ana"])
    rate(client, page)
    client.get("/r/" + tokens["ben"][:-1] + "x")
    client.get("/rate?item=" + item_of(page.text))
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "GET /r/<token> 303" in text and "POST /rate 303" in text
    secrets_and_phi = [tokens["ana"], tokens["ben"][:-1], client.get_cookie(COOKIE).value, item_of(page.text)]
    for r in store.ratings():
        secrets_and_phi += [r["message"], r["facts_text"].splitlines()[0]]
    for s in secrets_and_phi:
        assert s not in text


def test_admin_sees_progress_results_and_exports(env):
    app, store, tokens, _ = env
    admin_token = stage.issue_admin(store)
    for name in ("ana", "ben"):
        client, page = sign_in(app, tokens[name])
        for _ in range(3):
            rate(client, page, empathy=5 if name == "ana" else 4)
            page = client.get("/rate")
    admin, page = sign_in(app, admin_token)
    assert page.request.path == "/admin"
    html = page.text
    assert 'id="results"' in html and "finetuned mean" in html and "baseline mean" in html
    assert "Ana" in html and "Ben" in html and 'id="audit"' in html
    jsonl = admin.get("/admin/ratings.jsonl")
    assert jsonl.status_code == 200 and len(jsonl.text.splitlines()) == 6
    sheet = admin.get("/admin/sheets/ana.csv")
    assert sheet.status_code == 200 and sheet.text.splitlines()[0] == ",".join(human.SHEET_COLUMNS)
    assert admin.get("/admin/sheets/nobody.csv").status_code == 404
    assert admin.get("/rate").status_code == 403
    r = admin.post("/admin/export", data={"csrf_token": csrf_of(html)})
    assert r.status_code == 303 and r.headers["Location"] == "/admin?exported=1"
