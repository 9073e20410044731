"""Crawl throughput and the cost of an unchanged re-crawl, with the real Pipeline and Store.

    .venv/bin/python bench/crawl.py [--accounts 1000] [--latency 0.05] [--concurrency 16] [--posts 10]

A local server (its own process, threaded, on 127.0.0.1) serves one RSS feed per account, each
answer delayed by `--latency` seconds, with an ETag so that unchanged feeds answer 304. The
pipeline crawls and audits every account in a temporary folder twice:

- first crawl: wall time against the lower bound accounts × latency ÷ concurrency (`crawl.concurrency`
  and `crawl.per_host_concurrency` are both set to `--concurrency`; one host, no per-host delay);
  the aim is at most 1.5 × the bound;
- second, unchanged crawl: bytes the server sent (headers and bodies) and wall time against the
  first crawl; the aim is under 5 % of the first crawl's bytes.

`--profile` prints the 25 most expensive functions of the first crawl (cProfile).
"""
from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import multiprocessing
import pstats
import re
import shutil
import sys
import tempfile
import threading
import time
import urllib.request
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

WORDS = ("Students in grade five read to the kindergarten class during library week and the "
         "school council thanked the volunteers who ran the book fair on Thursday afternoon").split()


def feed_body(account: int, posts: int) -> bytes:
    start = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
    items = []
    for i in range(posts):
        text = " ".join(WORDS[(account + i + j) % len(WORDS)] for j in range(40))
        link = f"https://school{account}.example.org/news/{i}"
        items.append(f"<item><title>News {account}-{i}</title><link>{link}</link><guid>{link}</guid>"
                     f"<pubDate>{format_datetime(start - timedelta(hours=i), usegmt=True)}</pubDate>"
                     f"<description>{text}</description></item>")
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>School {account}</title>'
            f"<link>https://school{account}.example.org/</link><description>news</description>"
            f"{''.join(items)}</channel></rss>").encode()


def serve(port_queue, latency: float, posts: int) -> None:
    """The feed server (run in its own process, so that it never competes with the crawler for the GIL)."""
    stats = {"bytes": 0, "requests": 0, "not_modified": 0}
    lock = threading.Lock()
    cache: dict[int, tuple[bytes, str]] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            if self.path == "/__stats":
                body = json.dumps(stats).encode()
                self._send(200, body, {"Content-Type": "application/json"}, count=False)
                return
            time.sleep(latency)
            match = re.fullmatch(r"/feeds/(\d+)\.xml", self.path)
            if not match:
                self._send(404, b"not found", {"Content-Type": "text/plain"})
                return
            account = int(match.group(1))
            if account not in cache:
                body = feed_body(account, posts)
                cache[account] = (body, '"' + hashlib.sha256(body).hexdigest()[:16] + '"')
            body, etag = cache[account]
            if self.headers.get("If-None-Match") == etag:
                with lock:
                    stats["not_modified"] += 1
                self._send(304, b"", {"ETag": etag})
                return
            self._send(200, body, {"Content-Type": "application/rss+xml", "ETag": etag})

        def _send(self, status: int, body: bytes, headers: dict, count: bool = True) -> None:
            head = [f"HTTP/1.1 {status} {self.responses[status][0]}", "Server: bench",
                    f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in headers.items())]
            data = ("\r\n".join(head) + "\r\n\r\n").encode() + body
            self.wfile.write(data)
            if count:
                with lock:
                    stats["bytes"] += len(data)
                    stats["requests"] += 1

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.request_queue_size = 1024
    port_queue.put(server.server_address[1])
    server.serve_forever()


def server_stats(base: str) -> dict:
    with urllib.request.urlopen(base + "/__stats") as answer:
        return json.loads(answer.read())


def write_config(root: Path, base: str, accounts: int, concurrency: int) -> Path:
    from schoolaudit.config import DEFAULT_CONFIG_DIR
    from schoolaudit.demo import with_storage

    config = root / "config"
    shutil.copytree(DEFAULT_CONFIG_DIR, config, ignore=shutil.ignore_patterns("accounts.toml", "recipients.toml"))
    settings = (config / "settings.toml").read_text()
    settings = with_storage(settings, "../data")
    crawl = {"concurrency": concurrency, "per_host_concurrency": concurrency, "per_host_delay_seconds": 0,
             "retries": 0, "timeout_seconds": 30}
    for key, value in crawl.items():
        settings, found = re.subn(rf"(?m)^{key} = .*$", f"{key} = {value}", settings, count=1)
        if not found:
            settings = settings.replace("[crawl]\n", f"[crawl]\n{key} = {value}\n", 1)
    (config / "settings.toml").write_text(settings)
    entries = "".join(f'\n[[accounts]]\nid = "school-{i}"\nname = "School {i}"\nkind = "school"\n'
                      f'school = "s{i}"\nplatform = "rss"\nurl = "{base}/feeds/{i}.xml"\n' for i in range(accounts))
    schools = "".join(f'\n[[schools]]\nid = "s{i}"\nname = "School {i}"\n' for i in range(accounts))
    (config / "accounts.toml").write_text(f'[board]\nid = "bench"\nname = "Bench board"\n{schools}{entries}')
    return config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds the server waits before each answer")
    parser.add_argument("--concurrency", type=int, default=16, help="accounts (and requests to the one host) at once")
    parser.add_argument("--posts", type=int, default=10, help="items per feed")
    parser.add_argument("--profile", action="store_true", help="profile the first crawl")
    parser.add_argument("--sort", default="cumulative", help="profile order (cumulative, tottime)")
    args = parser.parse_args(argv)

    from schoolaudit.app import load_app
    from schoolaudit.pipeline import Pipeline

    ports = multiprocessing.Queue()
    server = multiprocessing.Process(target=serve, args=(ports, args.latency, args.posts), daemon=True)
    server.start()
    base = f"http://127.0.0.1:{ports.get(timeout=10)}"
    root = Path(tempfile.mkdtemp(prefix="schoolaudit-bench-"))
    try:
        app = load_app(write_config(root, base, args.accounts, args.concurrency))
        pipeline = Pipeline(app.settings, app.policy, app.store)
        accounts = app.registry.accounts

        profiler = cProfile.Profile() if args.profile else None
        cpu_started = time.process_time()
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        first = pipeline.run(accounts, kind="bench", show_progress=False)
        if profiler:
            profiler.disable()
        first_time = time.perf_counter() - started
        first_cpu = time.process_time() - cpu_started
        first_stats = server_stats(base)

        cpu_started = time.process_time()
        started = time.perf_counter()
        second = pipeline.run(accounts, kind="bench", show_progress=False)
        second_time = time.perf_counter() - started
        second_cpu = time.process_time() - cpu_started
        total_stats = server_stats(base)
        second_bytes = total_stats["bytes"] - first_stats["bytes"]
        second_304 = total_stats["not_modified"] - first_stats["not_modified"]
        audited = app.store.db.execute("SELECT count(*) FROM posts WHERE audited_hash = content_hash").fetchone()[0]
        app.close()
    finally:
        server.terminate()
        shutil.rmtree(root, ignore_errors=True)

    bound = args.accounts * args.latency / args.concurrency
    ok_first = sum(r.outcome == "ok" for r in first.results)
    ok_second = sum(r.outcome == "ok" for r in second.results)
    print(f"accounts {args.accounts}, latency {args.latency * 1000:.0f} ms, concurrency {args.concurrency}, "
          f"{args.posts} posts per feed")
    print(f"first crawl:  {first_time:7.2f} s  (lower bound {bound:.2f} s = accounts x latency / concurrency; "
          f"{first_time / bound:.2f}x the bound, aim <= 1.5x)")
    print(f"              {ok_first} accounts ok, {first.total('posts_new')} new posts, {audited} posts audited, "
          f"{first_stats['requests']} requests, {first_stats['bytes']:,} bytes")
    print(f"              crawler CPU {first_cpu:.2f} s ({first_cpu / args.accounts * 1000:.1f} ms per account: "
          f"parse, store, audit; one process, so the wall time is at least this)")
    print(f"second crawl: {second_time:7.2f} s  ({second_time / first_time:.1%} of the first crawl's time); "
          f"{ok_second} accounts ok, {second_304} answered 304, {second.total('posts_new')} new posts")
    print(f"              crawler CPU {second_cpu:.2f} s ({second_cpu / args.accounts * 1000:.1f} ms per account); "
          f"{second_time / bound:.2f}x the bound")
    print(f"              {second_bytes:,} bytes ({second_bytes / first_stats['bytes']:.2%} of the first crawl's "
          f"bytes, aim < 5%)")
    if profiler:
        pstats.Stats(profiler).sort_stats(args.sort).print_stats(25)
    return 0


if __name__ == "__main__":
    sys.exit(main())
