"""The pages and actions of the review app.

Every handler that shows or changes a finding, post, image or account reads it through
`records.queue` with the signed-in person's scope: what is outside the scope is answered 404,
exactly like what does not exist. Handlers are async and use the store of the event loop's thread.
"""
from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from functools import wraps
from pathlib import Path
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from records import people, queue
from records.findings import NothingToUndo
from records.model import CATEGORIES, SEVERITIES, Action, FindingStatus, utcnow
from records.people import User
from records.queue import QueueFilter
from reports.render import CATEGORY_LABELS, highlight, place_label, web_link
from schoolaudit.reporting import iso_time, local_time
from schoolaudit.review import ReviewError, parse_since
from schoolaudit.web import csrf, passwords
from schoolaudit.web.context import WebContext
from schoolaudit.web.oidc import SignInRefused
from schoolaudit.web.views import plain_outcome, version_views


#: decision -> the status it sets, as the pages name them
DECISIONS = {action.value: action.status.value for action in Action}
STATUSES = tuple(status.value for status in FindingStatus)

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parent / "templates"))
TEMPLATES.env.filters.update(highlight=highlight, web_link=web_link)
TEMPLATES.env.globals.update(category_label=lambda c: CATEGORY_LABELS.get(c, c), place_label=place_label,
                             CATEGORY_LABELS=CATEGORY_LABELS,
                             CATEGORIES=CATEGORIES, SEVERITIES=SEVERITIES[::-1], STATUSES=STATUSES)
SIGNIN_WINDOW = timedelta(minutes=15)
SIGNIN_FAILURES_PER_EMAIL = 5
SIGNIN_FAILURES_PER_CLIENT = 20  # a school's whole staff may share one address
_audits: list[subprocess.Popen] = []  # "audit now" processes, reaped on the next start


def context(request: Request) -> WebContext:
    return request.app.state.context


def signed_in(request: Request) -> User | None:
    user_id = request.session.get("uid")
    user = people.user_by_id(context(request).store, user_id) if user_id else None
    if user_id and user is None:  # removed since signing in
        request.session.clear()
    return user


def client(request: Request) -> str:
    return request.client.host if request.client else ""


def safe_next(value: str | None) -> str:
    """Only a path on this site (never "//host" or a full URL) is followed after sign-in or a decision."""
    value = value or ""
    return value if value.startswith("/") and not value.startswith("//") and "\\" not in value else "/"


def render(request: Request, template: str, status: int = 200, **view) -> HTMLResponse:
    ctx = context(request)
    flash = request.session.pop("flash", None)
    return TEMPLATES.TemplateResponse(request, template, {
        "board": ctx.settings.board_name, "csrf_token": csrf.token(request), "flash": flash,
        "time": lambda value: local_time(value, ctx.zone), **view}, status_code=status)


def not_found(request: Request, user: User | None) -> HTMLResponse:
    return render(request, "not_found.html", status=404, user=user)


def forbidden(request: Request, user: User | None, why: str) -> HTMLResponse:
    return render(request, "forbidden.html", status=403, user=user, why=why)


def sign_in_required(handler):
    """Pass the signed-in person to `handler`; otherwise send them to sign in (JSON: 401)."""
    @wraps(handler)
    async def wrapper(request: Request):
        user = signed_in(request)
        if user is None:
            if request.url.path.endswith(".json"):
                return JSONResponse({"error": "sign in first"}, status_code=401)
            if request.method != "GET":
                return forbidden(request, None, "Your session has ended: sign in again.")
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)
        return await handler(request, user)
    return wrapper


def form_action(handler):
    """A signed-in POST with the session's CSRF token (else 403); passes the parsed form."""
    @sign_in_required
    @wraps(handler)
    async def wrapper(request: Request, user: User):
        form = await request.form()
        if not csrf.valid(request, form):
            return forbidden(request, user, "This form has expired: go back, reload the page and try again.")
        return await handler(request, user, form)
    return wrapper


# -- signing in ----------------------------------------------------------------------------------

def login_form(request: Request, status: int = 200, **view) -> HTMLResponse:
    ctx = context(request)
    return render(request, "login.html", status=status, password_sign_in=ctx.settings.web.password_sign_in,
                  sso_label=ctx.oidc.options.button_label if ctx.oidc else None, **view)


async def login_page(request: Request):
    return login_form(request, user=signed_in(request), next=safe_next(request.query_params.get("next")),
                      error=None, email="")


async def login(request: Request):
    ctx, form = context(request), await request.form()
    email, password = str(form.get("email", "")).strip().lower(), str(form.get("password", ""))
    target = safe_next(form.get("next"))
    if not ctx.settings.web.password_sign_in:
        return forbidden(request, None, "This app signs people in through the board's account only.")
    since = (utcnow() - SIGNIN_WINDOW).isoformat()
    by_email, by_client = people.failed_signins_since(ctx.store, email, client(request), since)
    if by_email >= SIGNIN_FAILURES_PER_EMAIL or by_client >= SIGNIN_FAILURES_PER_CLIENT:
        people.log_event(ctx.store, email, "sign_in_refused", "too many failed attempts", client=client(request))
        return login_form(request, status=429, user=None, next=target, email=email,
                          error=f"Too many failed attempts. Wait {SIGNIN_WINDOW.seconds // 60} minutes and try again.")
    stored = people.password_hash(ctx.store, email)
    ok = passwords.verify(stored, password)
    people.record_signin_attempt(ctx.store, email, client(request), ok)
    people.log_event(ctx.store, email, "sign_in" if ok else "sign_in_failed", client=client(request))
    if not ok:
        return login_form(request, status=401, user=None, next=target, email=email,
                          error="That e-mail and password do not match.")
    if passwords.needs_rehash(stored):
        people.set_password_hash(ctx.store, email, passwords.hash_password(password))
    return start_session(request, people.user_by_email(ctx.store, email), target)


def start_session(request: Request, user: User, target: str) -> RedirectResponse:
    request.session.clear()  # a fresh session (and CSRF token) for the signed-in person
    request.session["uid"] = user.id
    csrf.token(request)  # made now, with the session cookie of the sign-in: every later page shows the same one
    return RedirectResponse(target, status_code=303)


async def sso_start(request: Request):
    """Off to the board's sign-in page (a link, not a form: CSP's form-action would stop the redirect)."""
    ctx = context(request)
    if ctx.oidc is None:
        return not_found(request, None)
    request.session["sso_next"] = safe_next(request.query_params.get("next"))
    redirect_uri = (ctx.settings.web.base_url + "/auth/callback") if ctx.settings.web.base_url \
        else str(request.url_for("sso_callback"))
    try:
        return await ctx.oidc.start(request, redirect_uri)
    except SignInRefused as refused:
        return sso_refused(request, refused)


async def sso_callback(request: Request):
    """The provider sends the person back here: a checked ID token naming a user of this app signs them in."""
    ctx = context(request)
    if ctx.oidc is None:
        return not_found(request, None)
    via = f"via {ctx.oidc.options.provider}"
    try:
        email = await ctx.oidc.finish(request)
        user = people.user_by_email(ctx.store, email)
        if user is None:
            raise SignInRefused(f"{email} is not a user of this review app: ask the board's administrator to add "
                                "you (schoolaudit users add or users invite)", email)
    except SignInRefused as refused:
        return sso_refused(request, refused)
    people.log_event(ctx.store, user.email, "sign_in", via, client=client(request))
    return start_session(request, user, safe_next(request.session.get("sso_next")))


def sso_refused(request: Request, refused: SignInRefused) -> HTMLResponse:
    ctx = context(request)
    people.log_event(ctx.store, refused.email or "unknown", "sign_in_failed",
                     f"via {ctx.oidc.options.provider}: {refused}", client=client(request))
    request.session.clear()
    return render(request, "signin_refused.html", status=403, user=None, why=str(refused),
                  label=ctx.oidc.options.button_label)


@form_action
async def logout(request: Request, user: User, form):
    people.log_event(context(request).store, user.email, "sign_out", client=client(request))
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


# -- the queue -----------------------------------------------------------------------------------

def queue_filter(request: Request, user: User) -> QueueFilter:
    args = request.query_params
    status = args.get("status") or "open"
    try:
        since = parse_since(args.get("since"), context(request).settings.timezone)
    except ReviewError:
        since = None
    return QueueFilter(status=status if status in (*STATUSES, "all") else "open",
                       category=args.get("category") or None, severity=args.get("severity") or None,
                       school=args.get("school") or None, account=args.get("account") or None,
                       since=since, assigned_to=user.email if args.get("assigned") == "me" else None)


def finding_document(row: dict, zone) -> dict:
    """The JSON vocabulary of `findings --json` (schoolaudit.reporting.finding_json): times with their offset."""
    return {"id": row["id"], "account": row["account_id"], "school": row["school"], "category": row["category"],
            "severity": row["severity"], "status": row["status"], "evidence": row["evidence"],
            "post_url": row["post_url"], "first_seen": iso_time(row["first_seen"], zone),
            "reviewed_by": row["reviewed_by"], "assigned_to": row["assigned_to"]}


@sign_in_required
async def findings_json(request: Request, user: User):
    ctx = context(request)
    rows = queue.queue(ctx.store, user.scope, queue_filter(request, user), limit=None)
    return JSONResponse({"findings": [finding_document(r, ctx.zone) for r in rows]})


@sign_in_required
async def findings_page(request: Request, user: User):
    ctx = context(request)
    flt = queue_filter(request, user)
    try:
        page = max(1, int(request.query_params.get("page", 1)))
    except ValueError:
        page = 1
    rows = queue.queue(ctx.store, user.scope, flt, offset=(page - 1) * queue.PAGE_SIZE)
    counts = queue.counts(ctx.store, user.scope, flt)
    args = {k: v for k, v in request.query_params.items() if k != "page" and v}
    return render(request, "queue.html", user=user, rows=rows, counts=counts, filters=args, page=page,
                  pages=max(1, -(-counts["total"][""] // queue.PAGE_SIZE)), query=urlencode(args),
                  here=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
                  reasons=people.review_reasons(ctx.store), schools=ctx.registry.schools,
                  accounts={a.id: a.name for a in ctx.registry.accounts})


@sign_in_required
async def finding_page(request: Request, user: User):
    ctx = context(request)
    finding_id = request.path_params["id"]
    row = queue.finding(ctx.store, user.scope, finding_id)
    if row is None:
        return not_found(request, user)
    media = queue.post_media(ctx.store, user.scope, finding_id)
    return render(request, "finding.html", user=user, f=row,
                  evidence=[f["evidence"] for f in queue.post_findings(ctx.store, user.scope, row["post_key"])],
                  images=[{"n": n, "alt": m.get("alt"), "stored": bool(m.get("sha256"))} for n, m in enumerate(media)],
                  versions=version_views(queue.post_versions(ctx.store, user.scope, row["post_key"])),
                  history=queue.review_history(ctx.store, user.scope, finding_id),
                  reasons=people.review_reasons(ctx.store), people=people.list_users(ctx.store),
                  school_name=ctx.registry.schools.get(row["school"] or "", "the board"))


@sign_in_required
async def finding_image(request: Request, user: User):
    """A post's image as a small JPEG with every face blurred; never the original file."""
    ctx = context(request)
    media = queue.post_media(ctx.store, user.scope, request.path_params["id"])
    number = request.path_params["n"]
    if number >= len(media):
        return not_found(request, user)
    builder = ctx.thumbnails()
    data = await run_in_threadpool(builder.thumbnail_bytes, media[number])
    if data is None:
        return not_found(request, user)
    return Response(data, media_type="image/jpeg")


# -- decisions -----------------------------------------------------------------------------------

def _decide(ctx: WebContext, user: User, ids: list[int], action: str, reason: str, note: str, where: str) -> list[int]:
    """Record one decision on each finding of `ids` in scope, with its audit-log line; return the ids done."""
    done = []
    with ctx.store.transaction():
        for finding_id in ids:
            row = queue.record_decision(ctx.store, finding_id, action, note=note, reason=reason, by=user.email,
                                        scope=user.scope)
            if row is not None:
                people.log_event(ctx.store, user.email, "decision", f"{action} → {row['status']}"
                                 + (f"; reason: {reason}" if reason else "") + (f"; note: {note}" if note else ""),
                                 finding_id, where)
                done.append(finding_id)
    return done


def finding_action(verb: str):
    """A form action on the finding of the path: 404 outside the user's scope, 403 for a role that only
    reads ("Your role lets you read findings, not {verb}."); else the handler, given the context and the id."""
    def decorate(handler):
        @form_action
        @wraps(handler)
        async def wrapper(request: Request, user: User, form):
            ctx, finding_id = context(request), request.path_params["id"]
            if queue.finding(ctx.store, user.scope, finding_id) is None:
                return not_found(request, user)
            if not user.can_decide:
                return forbidden(request, user, f"Your role lets you read findings, not {verb}.")
            return await handler(request, user, form, ctx, finding_id)
        return wrapper
    return decorate


def _decision_fields(form) -> tuple[str, str, str]:
    return (str(form.get("action", "")), str(form.get("reason", ""))[:200].strip(),
            str(form.get("note", ""))[:2000].strip())


@finding_action("decide on them")
async def decision(request: Request, user: User, form, ctx: WebContext, finding_id: int):
    action, reason, note = _decision_fields(form)
    if action not in DECISIONS:
        return forbidden(request, user, f"Unknown decision {action!r}.")
    _decide(ctx, user, [finding_id], action, reason, note, client(request))
    request.session["last_decision"] = [finding_id]
    request.session["flash"] = {"text": f"Finding #{finding_id}: {DECISIONS[action]}.", "undo": True}
    return RedirectResponse(safe_next(form.get("next") or f"/findings/{finding_id}"), status_code=303)


@form_action
async def bulk_decision(request: Request, user: User, form):
    if not user.can_decide:
        return forbidden(request, user, "Your role lets you read findings, not decide on them.")
    action, reason, note = _decision_fields(form)
    if action not in DECISIONS:
        return forbidden(request, user, f"Unknown decision {action!r}.")
    ids = [int(v) for v in form.getlist("ids") if str(v).isdigit()]
    done = _decide(context(request), user, ids, action, reason, note, client(request))
    request.session["last_decision"] = done
    request.session["flash"] = {"text": f"{len(done)} finding(s) {DECISIONS[action]}.", "undo": bool(done)}
    return RedirectResponse(safe_next(form.get("next") or "/findings"), status_code=303)


@form_action
async def undo(request: Request, user: User, form):
    ids = request.session.pop("last_decision", [])
    try:
        done = _decide(context(request), user, ids, "undo", "", "undone", client(request)) if user.can_decide else []
    except NothingToUndo:
        done = []
    request.session["flash"] = {"text": f"Undone: {len(done)} decision(s)." if done else "Nothing to undo."}
    return RedirectResponse(safe_next(form.get("next") or "/findings"), status_code=303)


@finding_action("assign them")
async def assign(request: Request, user: User, form, ctx: WebContext, finding_id: int):
    assignee = str(form.get("assignee", "")).strip().lower() or None
    if assignee and people.user_by_email(ctx.store, assignee) is None:
        return forbidden(request, user, f"{assignee} is not a user of this app.")
    with ctx.store.transaction():
        queue.assign(ctx.store, user.scope, finding_id, assignee, by=user.email)
        people.log_event(ctx.store, user.email, "assign", assignee or "nobody", finding_id, client(request))
    request.session["flash"] = {"text": f"Finding #{finding_id} assigned to {assignee or 'nobody'}."}
    return RedirectResponse(f"/findings/{finding_id}", status_code=303)


@finding_action("escalate them")
async def escalate(request: Request, user: User, form, ctx: WebContext, finding_id: int):
    note = str(form.get("note", ""))[:2000].strip()
    with ctx.store.transaction():
        queue.escalate(ctx.store, user.scope, finding_id, note, by=user.email)
        people.log_event(ctx.store, user.email, "escalate", note, finding_id, client(request))
    request.session["flash"] = {"text": f"Finding #{finding_id} escalated to the board."}
    return RedirectResponse(f"/findings/{finding_id}", status_code=303)


# -- accounts, runs, overview ----------------------------------------------------------------------

def account_rows(ctx: WebContext, user: User) -> list[dict]:
    registered = {a.id for a in ctx.registry.accounts}
    return [{**row, "plain": plain_outcome(row, ctx.zone), "school_name": ctx.registry.schools.get(row["school"] or "",
                                                                                                    "Board")}
            for row in queue.accounts_overview(ctx.store, user.scope) if row["id"] in registered]


@sign_in_required
async def accounts_page(request: Request, user: User):
    return render(request, "accounts.html", user=user, accounts=account_rows(context(request), user))


@form_action
async def audit_now(request: Request, user: User, form):
    ctx = context(request)
    account_id = request.path_params["id"]
    if not queue.account_in_scope(ctx.store, user.scope, account_id):
        return not_found(request, user)
    if not user.is_admin:
        return forbidden(request, user, "Only an administrator can start an audit.")
    _audits[:] = [p for p in _audits if p.poll() is None]
    _audits.append(subprocess.Popen([sys.executable, "-m", "schoolaudit.cli", "--config", str(ctx.config_dir),
                                     "audit", account_id], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    stdin=subprocess.DEVNULL))
    people.log_event(ctx.store, user.email, "audit_now", account_id, client=client(request))
    request.session["flash"] = {"text": f"Audit of {account_id} started. Reload this page in a minute to see it."}
    return RedirectResponse("/accounts", status_code=303)


@sign_in_required
async def runs_page(request: Request, user: User):
    if user.scope != "board":
        return not_found(request, user)
    rows = queue.runs(context(request).store, user.scope)
    return render(request, "runs.html", user=user, runs=rows)


@sign_in_required
async def overview(request: Request, user: User):
    ctx = context(request)
    open_filter = QueueFilter(status="open")
    counts = queue.counts(ctx.store, user.scope, open_filter)
    accounts = account_rows(ctx, user)
    return render(request, "overview.html", user=user, counts=counts,
                  status_counts=queue.counts(ctx.store, user.scope, QueueFilter(status="all"))["status"],
                  top=queue.queue(ctx.store, user.scope, open_filter, limit=5),
                  failing=[a for a in accounts if a["outcome"] not in ("ok", None)], accounts=accounts,
                  schools=ctx.registry.schools, latest_run=next(iter(queue.runs(ctx.store, user.scope, 1)), None))


@sign_in_required
async def reasons_page(request: Request, user: User):
    if not user.is_admin:
        return forbidden(request, user, "Only an administrator can edit the list of reasons.")
    return render(request, "reasons.html", user=user, reasons=people.review_reasons(context(request).store))


@form_action
async def save_reasons(request: Request, user: User, form):
    if not user.is_admin:
        return forbidden(request, user, "Only an administrator can edit the list of reasons.")
    labels = str(form.get("reasons", "")).splitlines()
    ctx = context(request)
    people.set_review_reasons(ctx.store, labels)
    people.log_event(ctx.store, user.email, "reasons_changed", "; ".join(people.review_reasons(ctx.store)),
                     client=client(request))
    request.session["flash"] = {"text": "The list of reasons is saved."}
    return RedirectResponse("/reasons", status_code=303)


def routes() -> list[Route]:
    return [
        Route("/", overview),
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/auth/start", sso_start, methods=["GET"]),
        Route("/auth/callback", sso_callback, methods=["GET"], name="sso_callback"),
        Route("/findings", findings_page),
        Route("/findings.json", findings_json),
        Route("/findings/bulk", bulk_decision, methods=["POST"]),
        Route("/undo", undo, methods=["POST"]),
        Route("/findings/{id:int}", finding_page),
        Route("/findings/{id:int}/images/{n:int}.jpg", finding_image),
        Route("/findings/{id:int}/decision", decision, methods=["POST"]),
        Route("/findings/{id:int}/assign", assign, methods=["POST"]),
        Route("/findings/{id:int}/escalate", escalate, methods=["POST"]),
        Route("/accounts", accounts_page),
        Route("/accounts/{id}/audit", audit_now, methods=["POST"]),
        Route("/runs", runs_page),
        Route("/reasons", reasons_page, methods=["GET"]),
        Route("/reasons", save_reasons, methods=["POST"]),
    ]
