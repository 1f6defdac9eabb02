"""The rating web app (Flask + Jinja templates, one small script, no build step).

Routes: GET /r/<token> (a secret link: signs the browser in, then redirects, so the token leaves
the address bar and the history), GET/POST /rate, POST /undo, POST /signout, GET /admin (progress
and results), POST /admin/export, GET /admin/ratings.jsonl, GET /admin/sheets/<rater>.csv.

Every POST carries the session's CSRF token; every failed token or cookie counts against the
client's guess limit. The access log names the route pattern and status only, never the path,
query or form (tokens and item text stay out of logs). Any error is a page with its 4xx status;
an unexpected one is a plain 500 page that shows nothing of the request.
"""
from __future__ import annotations

import json
import logging
import re
import time
from typing import Any

import ml_collections
from flask import Flask, Response, abort, g, redirect, render_template, request
from werkzeug.exceptions import HTTPException

from trainer.eval import human
from trainer.rate import auth, results
from trainer.rate.store import Store

log = logging.getLogger("carelora.rate")

COOKIE = "carelora_session"
_ITEM_RE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_NAME_KEY_RE = re.compile(r"[a-z0-9-]{1,80}")
_SCORES = {str(v): v for v in range(1, 6)}


def dimension_hints() -> dict[str, str]:
    """{dimension: its line of the rating sheet's instructions}, so the page and the sheet agree."""
    hints = {}
    for line in human.INSTRUCTIONS.splitlines():
        name, sep, text = line.lstrip("- ").partition(": ")
        if sep and name in human.DIMENSIONS:
            hints[name] = text
    return hints


class _App(Flask):
    def log_exception(self, exc_info) -> None:
        # Flask's own message holds the request path (a token, for /r/<token>).
        log.error("unhandled error on %s %s", request.method, _rule(), exc_info=exc_info)


def _rule() -> str:
    return request.url_rule.rule if request.url_rule is not None else "<no route>"


def create_app(store: Store, cfg: ml_collections.ConfigDict, workdir: str,
               eval_cfg: ml_collections.ConfigDict | None = None) -> Flask:
    """The app over one store. `cfg` is config.rate; `eval_cfg` (config.eval) sets the statistics."""
    if eval_cfg is None:
        from trainer.eval.config import default_config
        eval_cfg = default_config()
    app = _App(__name__)
    app.config.update(MAX_CONTENT_LENGTH=64 * 1024, MAX_FORM_MEMORY_SIZE=64 * 1024, TEMPLATES_AUTO_RELOAD=False)
    limiter = auth.GuessLimiter(int(cfg.max_token_failures), float(cfg.token_failure_window_s))
    hints = dimension_hints()
    app.extensions["carelora_limiter"] = limiter

    def client() -> str:
        return request.remote_addr or "unknown"

    def refuse_guess(status: int, message: str):
        limiter.fail(client())
        abort(status, message)

    def check_limit() -> None:
        wait = limiter.retry_after(client())
        if wait > 0:
            response = Response(render_template("error.html", code=429, title="Too many attempts",
                                                message=f"Too many wrong links from this address. Try again in "
                                                        f"{int(wait) + 1} seconds."), status=429)
            response.headers["Retry-After"] = str(int(wait) + 1)
            abort(response)

    def session(role: str | None = None) -> dict[str, Any]:
        """The signed-in user of this request; 403 without a valid session (or of another role)."""
        if "user" in g:
            user = g.user
        else:
            cookie = request.cookies.get(COOKIE)
            if not cookie:
                abort(403, "Not signed in. Open your personal rating link again.")
            check_limit()
            parts = auth.split_token(cookie)
            row, stored = store.session_of(parts[0]) if parts else (None, None)
            if not parts or not auth.secret_matches(parts[1], stored):
                refuse_guess(403, "This browser's sign-in is not valid (expired or revoked). "
                                  "Open your personal rating link again.")
            user = g.user = row
        if role and user["role"] != role:
            abort(403, "This page is not for this link.")
        return user

    def check_csrf(user: dict[str, Any]) -> None:
        if not auth.csrf_matches(user["csrf_token"], request.form.get("csrf_token")):
            abort(403, "The form's security token is missing or wrong (CSRF). Reload the page and try again.")

    @app.before_request
    def _start() -> None:
        g.started = time.monotonic()

    @app.after_request
    def _headers(response: Response) -> Response:
        h = response.headers
        h["Content-Security-Policy"] = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                                        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
        h["X-Frame-Options"] = "DENY"
        h["X-Content-Type-Options"] = "nosniff"
        h["Referrer-Policy"] = "no-referrer"
        h["Cache-Control"] = "no-store"
        log.info("%s %s %d %.0fms", request.method, _rule(), response.status_code,
                 1000 * (time.monotonic() - g.get("started", time.monotonic())))
        return response

    @app.errorhandler(HTTPException)
    def _http_error(e: HTTPException):
        if e.response is not None:
            return e.response
        titles = {400: "Bad request", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
                  409: "Conflict", 413: "Request too large"}
        return render_template("error.html", code=e.code, title=titles.get(e.code or 0, e.name),
                               message=e.description), e.code

    @app.errorhandler(Exception)
    def _error(e: Exception):
        app.log_exception((type(e), e, e.__traceback__))
        return render_template("error.html", code=500, title="Server error",
                               message="Something went wrong on the server; your earlier ratings are saved."), 500

    @app.get("/")
    def index():
        user = session()
        return redirect("/admin" if user["role"] == "admin" else "/rate", 303)

    @app.get("/r/<token>")
    def sign_in(token: str):
        check_limit()
        parts = auth.split_token(token)
        rater, stored = store.token_hash_of(parts[0]) if parts else (None, None)
        if not parts or not auth.secret_matches(parts[1], stored):
            refuse_guess(403, "This link is not valid. Ask the organiser for your personal rating link.")
        selector, secret, cookie = auth.new_token()
        store.add_session(rater["id"], selector, auth.hash_secret(secret), auth.new_csrf(), float(cfg.session_hours))
        response = redirect("/admin" if rater["role"] == "admin" else "/rate", 303)
        response.set_cookie(COOKIE, cookie, max_age=int(float(cfg.session_hours) * 3600), httponly=True,
                            samesite="Lax", secure=bool(cfg.cookie_secure), path="/")
        return response

    @app.post("/signout")
    def sign_out():
        user = session()
        check_csrf(user)
        store.end_session(user["selector"])
        response = Response(render_template("error.html", code=200, title="Signed out",
                                            message="You are signed out. Your ratings are saved; open your link to continue."))
        response.delete_cookie(COOKIE, path="/")
        return response

    def rate_page(user: dict[str, Any], item: dict[str, Any] | None, status: int = 200, error: str = "",
                  values: dict[str, str] | None = None, comment: str = ""):
        progress = store.progress(user["rater_id"])
        if item is None:
            return render_template("done.html", user=user, progress=progress), status
        return render_template("rate.html", user=user, item=item, progress=progress, dimensions=human.DIMENSIONS,
                               hints=hints, error=error, values=values or {}, comment=comment,
                               max_comment=int(cfg.max_comment_chars)), status

    @app.get("/rate")
    def rate_get():
        user = session("rater")
        prefer = request.args.get("item", "")
        return rate_page(user, store.next_item(user["rater_id"], prefer if _ITEM_RE.fullmatch(prefer) else None))

    @app.post("/rate")
    def rate_post():
        user = session("rater")
        check_csrf(user)
        form = request.form
        item_id = form.get("item_id", "")
        if not _ITEM_RE.fullmatch(item_id):
            abort(400, "Field 'item_id' is missing or malformed.")
        action = form.get("action", "save")
        if action not in ("save", "skip"):
            abort(400, f"Field 'action' must be 'save' or 'skip', not {action[:20]!r}.")
        comment = " ".join(form.get("comment", "").split())
        if len(comment) > int(cfg.max_comment_chars):
            abort(400, f"Field 'comment' is longer than {int(cfg.max_comment_chars)} characters.")
        scores = None
        if action == "save":
            values = {d: form.get(d, "").strip() for d in human.DIMENSIONS}
            bad = [d for d, v in values.items() if v not in _SCORES]
            if bad:
                item = store.assigned_item(user["rater_id"], item_id)
                if item is None:
                    abort(409, "That item is not one of yours (any more). Open the rating page to continue.")
                return rate_page(user, item, 400, f"Give {', '.join(bad)} a score from 1 to 5 (or skip the item).",
                                 values, comment)
            scores = {d: _SCORES[v] for d, v in values.items()}
        try:
            store.save_rating(user["rater_id"], item_id, scores, comment)
        except LookupError:
            abort(409, "That item is not one of yours (any more). Your earlier ratings are saved; "
                       "open the rating page to continue.")
        return redirect("/rate", 303)

    @app.post("/undo")
    def undo():
        user = session("rater")
        check_csrf(user)
        item_id = store.undo(user["rater_id"])
        return redirect(f"/rate?item={item_id}" if item_id else "/rate", 303)

    @app.get("/admin")
    def admin():
        user = session("admin")
        stats = results.compute(store, eval_cfg)
        return render_template("admin.html", user=user, stats=stats, counts=store.item_counts(),
                               audit=store.audit_tail(50), dimensions=human.DIMENSIONS,
                               exported=request.args.get("exported") == "1", fmt=_fmt)

    @app.post("/admin/export")
    def admin_export():
        user = session("admin")
        check_csrf(user)
        results.export(store, workdir, eval_cfg)
        return redirect("/admin?exported=1", 303)

    @app.get("/admin/ratings.jsonl")
    def admin_jsonl():
        session("admin")
        body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in results.reward_rows(store.ratings()))
        return Response(body, mimetype="application/jsonl",
                        headers={"Content-Disposition": "attachment; filename=ratings.jsonl"})

    @app.get("/admin/sheets/<name_key>.csv")
    def admin_sheet(name_key: str):
        session("admin")
        if not _NAME_KEY_RE.fullmatch(name_key):
            abort(404, "No such rater.")
        rows = [r for r in store.ratings() if r["name_key"] == name_key and not r["skipped"]]
        if not rows:
            abort(404, "No ratings from that rater yet.")
        return Response(results.sheet_csv(rows), mimetype="text/csv", headers={
            "Content-Disposition": f"attachment; filename={results.sheet_name(name_key)}.csv"})

    return app


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)
