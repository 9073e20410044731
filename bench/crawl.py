"""Crawl throughput and the cost of an unchanged re-crawl, with the real Pipeline and Store.

    .venv/bin/python bench/crawl.py [--accounts 1000] [--latency 0.05] [--concurrency 16] [--posts 10] [--workers N]

A local server (its own process, threaded, on 127.0.0.1) serves one RSS feed per account, each
answer delayed by `--latency` seconds, with an ETag so that unchanged feeds answer 304. The
pipeline crawls and audits every account in a temporary folder twice:

- first crawl: wall time against the lower bound accounts × latency ÷ concurrency (`crawl.concurrency`
  and `crawl.per_host_concurrency` are both set to `--concurrency`; one host, no per-host delay);
  the aim is at most 1.5 × the bound;
- second, unchanged crawl: bytes the server sent (headers and bodies) and wall time against the
  first crawl; the aim is under 5 % of the first crawl's bytes.

Beside each stage stands its limit: the wall time beside the latency bound; the CPU per account split
into the crawling process (HTTP, parsing, storing; the aim is at most 10 ms) and the audit workers
(`crawl.workers`; `--workers 0` audits in the crawling process), and the text rules' CPU beside one
prefilter pass over all their terms (auditors/prefilter.py) on the same posts. Connections opened are counted (an
unchanged feed's 304 keeps its connection).

`--profile` prints the 25 most expensive functions of the first crawl (cProfile, in CPU time) and the
share of the profile each stage of the crawling process takes (HTTP client, feed parsing, store, imports).
"""
from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import multiprocessing
import pstats
import re
import resource
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


def feed_body(account: int, posts: int, base: str = "", image_every: int = 0) -> bytes:
    """One account's RSS feed; with `image_every`, every so many posts (over the whole board) carry an image
    of their own, `/images/<post number>.jpg`."""
    start = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
    items = []
    for i in range(posts):
        text = " ".join(WORDS[(account + i + j) % len(WORDS)] for j in range(40))
        link = f"https://school{account}.example.org/news/{i}"
        number = account * posts + i
        image = (f'<media:content url="{base}/images/{number}.jpg" medium="image" type="image/jpeg"/>'
                 if image_every and number % image_every == 0 else "")
        items.append(f"<item><title>News {account}-{i}</title><link>{link}</link><guid>{link}</guid>"
                     f"<pubDate>{format_datetime(start - timedelta(hours=i), usegmt=True)}</pubDate>"
                     f"<description>{text}</description>{image}</item>")
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/">'
            f"<channel><title>School {account}</title>"
            f"<link>https://school{account}.example.org/</link><description>news</description>"
            f"{''.join(items)}</channel></rss>").encode()


def distinct_jpeg(photos: list[bytes], number: int) -> bytes:
    """Photo `number % len(photos)` made a distinct file (its own sha256) by a JPEG comment naming `number`."""
    photo = photos[number % len(photos)]
    comment = f"bench image {number}".encode()
    return photo[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + photo[2:]


def serve(port_queue, latency: float, posts: int, image_every: int = 0, photos: list[bytes] | None = None) -> None:
    """The feed server (run in its own process, so that it never competes with the crawler for the GIL).

    With `image_every` and `photos`, feeds carry images and `/images/N.jpg` serves `distinct_jpeg(photos, N)`."""
    stats = {"bytes": 0, "requests": 0, "not_modified": 0, "connections": 0}
    lock = threading.Lock()
    cache: dict[int, tuple[bytes, str]] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self):
            super().setup()
            with lock:
                stats["connections"] += 1

        def do_GET(self):
            if self.path == "/__stats":
                body = json.dumps(stats).encode()
                self._send(200, body, {"Content-Type": "application/json"}, count=False)
                return
            time.sleep(latency)
            image = re.fullmatch(r"/images/(\d+)\.jpg", self.path)
            if image and photos:
                self._send(200, distinct_jpeg(photos, int(image.group(1))), {"Content-Type": "image/jpeg"})
                return
            match = re.fullmatch(r"/feeds/(\d+)\.xml", self.path)
            if not match:
                self._send(404, b"not found", {"Content-Type": "text/plain"})
                return
            account = int(match.group(1))
            if account not in cache:
                body = feed_body(account, posts, f"http://127.0.0.1:{self.server.server_address[1]}", image_every)
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

    class Server(ThreadingHTTPServer):
        def handle_error(self, request, client_address):
            pass  # a crawl that ends closes its kept-alive connections: no traceback for each

    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.request_queue_size = 1024
    port_queue.put(server.server_address[1])
    server.serve_forever()


def server_stats(base: str) -> dict:
    with urllib.request.urlopen(base + "/__stats") as answer:
        return json.loads(answer.read())


def write_config(root: Path, base: str, accounts: int, concurrency: int, **crawl_settings) -> Path:
    """A configuration folder for a board of `accounts` feed accounts on `base`; [crawl] as given."""
    from schoolaudit.config import DEFAULT_CONFIG_DIR
    from schoolaudit.demo import with_storage

    config = root / "config"
    shutil.copytree(DEFAULT_CONFIG_DIR, config, ignore=shutil.ignore_patterns("accounts.toml", "recipients.toml"))
    settings = (config / "settings.toml").read_text()
    settings = with_storage(settings, "../data")
    crawl = {"concurrency": concurrency, "per_host_concurrency": concurrency, "per_host_delay_seconds": 0,
             "retries": 0, "timeout_seconds": 30, **crawl_settings}
    for key, value in crawl.items():
        value = str(value).lower() if isinstance(value, bool) else value
        settings, found = re.subn(rf"(?m)^{key} = .*$", f"{key} = {value}", settings, count=1)
        if not found:
            settings = settings.replace("[crawl]\n", f"[crawl]\n{key} = {value}\n", 1)
    (config / "settings.toml").write_text(settings)
    entries = "".join(f'\n[[accounts]]\nid = "school-{i}"\nname = "School {i}"\nkind = "school"\n'
                      f'school = "s{i}"\nplatform = "rss"\nurl = "{base}/feeds/{i}.xml"\n' for i in range(accounts))
    schools = "".join(f'\n[[schools]]\nid = "s{i}"\nname = "School {i}"\n' for i in range(accounts))
    (config / "accounts.toml").write_text(f'[board]\nid = "bench"\nname = "Bench board"\n{schools}{entries}')
    return config


def children_cpu() -> float:
    """CPU seconds of this process's children that ended (the audit workers, once a run has stopped them)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_run(pipeline, accounts, profiler=None) -> tuple:
    """(summary, wall seconds, CPU seconds of this process, CPU seconds of its audit workers)."""
    cpu, children, started = time.process_time(), children_cpu(), time.perf_counter()
    if profiler:
        profiler.enable()
    summary = pipeline.run(accounts, kind="bench", show_progress=False)
    if profiler:
        profiler.disable()
    return summary, time.perf_counter() - started, time.process_time() - cpu, children_cpu() - children


def prefilter_pass_ms(policy, texts: list[str]) -> float:
    """Milliseconds one prefilter pass over every text rule (auditors/prefilter.py) takes to read
    `texts`: what reading each post once costs, against which the text rules' CPU is measured."""
    from auditors.prefilter import shared_prefilter
    from auditors.registry import load_auditors

    load_auditors(policy)  # the text auditors register their rules with the policy's prefilter
    engine = shared_prefilter(policy).engine
    started = time.process_time()
    for text in texts:
        engine.candidates(text)
    return (time.process_time() - started) * 1000


def stage_lines(summary, cpu: float, workers_cpu: float, accounts: int, regex_ms: float) -> list[str]:
    """CPU per account by stage, each beside its limit."""
    audit = summary.audit_cpu
    model = audit.get("text_model", 0.0)
    rules = sum(seconds for name, seconds in audit.items() if name != "text_model")
    crawl = cpu + workers_cpu - rules - model
    per = 1000 / accounts
    return [f"              CPU per account: {(cpu + workers_cpu) * per:.1f} ms ({cpu * per:.1f} ms in the crawling "
            f"process, aim <= 10; {workers_cpu * per:.1f} ms in audit workers)",
            f"                HTTP, parse, store and worker start-up {crawl * per:.1f} ms; text rules {rules * per:.1f} ms "
            f"(one prefilter pass over the same posts: {regex_ms / accounts:.2f} ms); text model {model * per:.1f} ms"]


#: Where the crawling process's CPU goes, as (stage, [(module path ending, function name)]) read from the profile.
PROFILE_STAGES = (
    ("HTTP client (httpx, the pool, robots, throttle)", [("crawler/http.py", "get")]),
    ("feed parsing", [("crawler/sources/feed.py", "parse_feed_page")]),
    ("store (posts, validators, findings, checks)", [("schoolaudit/pipeline.py", "_store"),
                                                     ("records/posts.py", "unaudited_posts"),
                                                     ("records/findings.py", "save_audits"),
                                                     ("records/runs.py", "record_check")]),
    ("imports during the crawl (some within the stages above)", [("<frozen importlib._bootstrap>", "_find_and_load")]),
)


def profile_shares(stats: pstats.Stats) -> list[str]:
    """Each stage's share of the profiled CPU (cProfile weighs pure-Python code more than C code, so
    these are shares of the profile, not of the unprofiled run)."""
    total = stats.total_tt
    lines = [f"profiled CPU of the first crawl: {total:.2f} s (main thread)"]
    for stage, functions in PROFILE_STAGES:
        seconds = stage_seconds(stats, functions)
        lines.append(f"  {stage}: {seconds:.2f} s ({seconds / total:.0%})")
    return lines


def stage_seconds(stats: pstats.Stats, functions: list[tuple[str, str]]) -> float:
    """The cumulative time of a stage's functions, less the calls one of them makes to another (a failed
    fetch's check is recorded inside `_store`: counted once, not twice)."""
    def listed(key) -> bool:
        path, _, name = key
        return any(path.endswith(end) and name == function for end, function in functions)

    stage = [(key, timing) for key, timing in stats.stats.items() if listed(key)]
    nested = sum(call[3] for _, timing in stage for caller, call in timing[4].items() if listed(caller))
    return sum(timing[3] for _, timing in stage) - nested


def board_arguments(parser: argparse.ArgumentParser, accounts: int, posts: int) -> None:
    """The board a bench builds and how it is crawled (this bench's and bench/night.py's)."""
    parser.add_argument("--accounts", type=int, default=accounts)
    parser.add_argument("--posts", type=int, default=posts, help="items per feed")
    parser.add_argument("--concurrency", type=int, default=16,
                        help="crawl.concurrency and per_host_concurrency: accounts (and requests to the one host) at once")
    parser.add_argument("--workers", type=int, help="crawl.workers (default: the setting's default)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     epilog="Example: nice .venv/bin/python bench/crawl.py --accounts 1000 --latency 0.05 --concurrency 16")
    board_arguments(parser, accounts=1000, posts=10)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds the server waits before each answer")
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
        workers = {} if args.workers is None else {"workers": args.workers}
        app = load_app(write_config(root, base, args.accounts, args.concurrency, **workers))
        pipeline = Pipeline(app.settings, app.policy, app.store)
        accounts = app.registry.accounts

        # CPU time, not wall time: on a shared machine waits for the CPU would swamp the profile
        profiler = cProfile.Profile(time.process_time) if args.profile else None
        first, first_time, first_cpu, first_workers = timed_run(pipeline, accounts, profiler)
        first_stats = server_stats(base)
        second, second_time, second_cpu, second_workers = timed_run(pipeline, accounts)
        total_stats = server_stats(base)
        second_bytes = total_stats["bytes"] - first_stats["bytes"]
        second_304 = total_stats["not_modified"] - first_stats["not_modified"]
        audited = app.store.db.execute("SELECT count(*) FROM posts WHERE audited_hash = content_hash").fetchone()[0]
        texts = [f"{title}\n{text}" for title, text in app.store.db.execute("SELECT title, text FROM posts")]
        regex_ms = prefilter_pass_ms(app.policy, texts)
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
          f"{first_stats['requests']} requests, {first_stats['connections']} connections, {first_stats['bytes']:,} bytes")
    print("\n".join(stage_lines(first, first_cpu, first_workers, args.accounts, regex_ms)))
    print(f"second crawl: {second_time:7.2f} s  ({second_time / first_time:.1%} of the first crawl's time); "
          f"{ok_second} accounts ok, {second_304} answered 304, {second.total('posts_new')} new posts, "
          f"{total_stats['connections'] - first_stats['connections']} new connections")
    print(f"              crawler CPU {second_cpu + second_workers:.2f} s "
          f"({(second_cpu + second_workers) / args.accounts * 1000:.1f} ms per account); "
          f"{second_time / bound:.2f}x the bound")
    print(f"              {second_bytes:,} bytes ({second_bytes / first_stats['bytes']:.2%} of the first crawl's "
          f"bytes, aim < 5%)")
    if profiler:
        stats = pstats.Stats(profiler)
        stats.sort_stats(args.sort).print_stats(25)
        print("\n".join(profile_shares(stats)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
