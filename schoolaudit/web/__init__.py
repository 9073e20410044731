"""The review app: sign in, the scoped queue of findings, decisions, accounts and runs, in the browser.

Server-rendered HTML (Starlette + Jinja2) that works without JavaScript; `static/app.js` only adds
keyboard shortcuts. The web layer holds no SQL: every read goes through `records.queue` and
`records.people` with the signed-in person's scope.
"""
from schoolaudit.web.app import create_app

__all__ = ["create_app"]
