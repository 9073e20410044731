"""`schoolaudit web`: serve the review app (sign in, review findings, accounts, runs) in the browser."""
from __future__ import annotations

from schoolaudit.config import config_dir, load_settings

HELP = "serve the review app: people sign in, review the findings in their scope and record decisions"
EXAMPLE = "schoolaudit --config /etc/schoolaudit web --host 127.0.0.1 --port 8080"


def add_arguments(parser) -> None:
    parser.add_argument("--host", help="address to listen on (default: web.host, else 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: web.port, else 8080)")


def start_in_thread(config):
    """The review app in a background thread when settings.toml [web] serve = true (for `serve`);
    returns the uvicorn server (set `should_exit` to stop it), or None."""
    import threading

    import uvicorn

    from schoolaudit.web import create_app

    web = load_settings(config_dir(config)).web
    if not web.serve:
        return None
    server = uvicorn.Server(uvicorn.Config(create_app(config), host=web.host, port=web.port,
                                           log_level="warning", proxy_headers=False))
    threading.Thread(target=server.run, daemon=True, name="schoolaudit-web").start()
    print(f"schoolaudit serve: the review app on http://{web.host}:{web.port}/", flush=True)
    return server


def run(args) -> int:
    import uvicorn

    from schoolaudit.web import create_app

    web = load_settings(config_dir(args.config)).web
    host, port = args.host or web.host, args.port or web.port
    app = create_app(args.config)
    print(f"schoolaudit web: http://{host}:{port}/ (stop with Ctrl-C)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=False)
    return 0
