"""Auditing in worker processes (crawl.workers): the same findings as in the crawling process, and a
killed run leaves neither workers behind nor posts unaudited after the next run."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from records.findings import FindingQuery
from faultserver import FaultServer, feed, rss, static, stall, write_config
from schoolaudit.app import load_app
from schoolaudit.pipeline import Pipeline
from schoolaudit.workers import POOL_MIN_ACCOUNTS

PHOTO = (Path(__file__).parent.parent / "schoolaudit/demo/site/images/astronaut-visit.jpg").read_bytes()
ACCOUNTS = POOL_MIN_ACCOUNTS  # the fewest accounts for which a run starts workers
#: Titles that the text rules flag, so that the text auditors have work in the workers too.
TITLES = ("Thanks to Joe's Pizza, the best pizza in town - order now", "Vote for Jane Smith on election day",
          "Library week")


def _board(server: FaultServer) -> dict[str, str]:
    accounts = {}
    for i in range(ACCOUNTS):
        image = server.url + "/photo.jpg" if i % 3 == 0 else None
        server.routes[f"/feed-{i}.xml"] = feed(rss(2, TITLES[i % len(TITLES)], image=image))
        accounts[f"club-{i}"] = f"{server.url}/feed-{i}.xml"
    server.routes["/photo.jpg"] = static(200, PHOTO, "image/jpeg")
    return accounts


def _findings(app) -> set[tuple]:
    return {(f.post_key, f.category, f.location, f.severity, f.evidence) for f in app.store.findings(FindingQuery())}


def test_workers_find_what_the_crawling_process_finds(tmp_path):
    found = {}
    with FaultServer() as server:
        accounts = _board(server)
        # one worker: its images on one thread per core; two: a process per core (threads on more cores)
        for workers in (0, 1, 2):
            config = write_config(tmp_path / f"workers-{workers}", accounts, workers=workers,
                                  allow_private_addresses=True)
            app = load_app(config)
            summary = Pipeline(app.settings, app.policy, app.store).run(app.registry.accounts, show_progress=False)
            assert [r.outcome for r in summary.results] == ["ok"] * ACCOUNTS
            assert app.store.unaudited_posts() == []
            assert summary.audit_cpu["student_photo_image"] > 0
            found[workers] = _findings(app)
            app.close()
    categories = {category for _, category, _, _, _ in found[0]}
    assert {"student_photo", "endorsement_commercial", "endorsement_political"} <= categories
    assert found[1] == found[0] and found[2] == found[0]


def test_workers_are_asked_for_huge_pages_and_processes_started_later_are_not(tmp_path):
    """The workers' C heap is backed by huge pages (`auditors.c_heap`); the crawling process's environment is left
    as it was, so that a browser or mailer it starts later is not asked."""
    import asyncio
    import multiprocessing

    from auditors.c_heap import HUGE_PAGES_TUNABLE
    from records.model import Account
    from schoolaudit.workers import WorkerAuditing

    with FaultServer() as server:
        policy = load_app(write_config(tmp_path / "board", {"club": server.url + "/feed.xml"})).policy
    auditing = WorkerAuditing(policy, processes=1)
    try:
        club = Account("club", "Club", "club", "rss", "https://school.example.org/feed.xml")
        assert asyncio.run(auditing.audit(club, [])) == []
        workers = multiprocessing.active_children()
        assert workers
        for worker in workers:
            environment = Path(f"/proc/{worker.pid}/environ").read_bytes().split(b"\0")
            assert any(entry.startswith(b"GLIBC_TUNABLES=") and HUGE_PAGES_TUNABLE.encode() + b"=1" in entry
                       for entry in environment)
        assert HUGE_PAGES_TUNABLE not in os.environ.get("GLIBC_TUNABLES", "")
    finally:
        auditing.close()


def test_fresh_workers_take_over_after_their_accounts_one_set_at_a_time(tmp_path, monkeypatch):
    """A worker is replaced after `ACCOUNTS_PER_WORKER` accounts (its level rose with the accounts): the old
    one finishes its accounts and exits before the next starts, and the findings are the crawling process's."""
    from concurrent.futures import ProcessPoolExecutor

    from schoolaudit import workers

    events = []

    class Watched(ProcessPoolExecutor):
        def __init__(self, *args, **kwargs):
            events.append("start")
            super().__init__(*args, **kwargs)

        def shutdown(self, *args, **kwargs):
            super().shutdown(*args, **kwargs)
            events.append("end")

    monkeypatch.setattr(workers, "ACCOUNTS_PER_WORKER", 8)
    monkeypatch.setattr(workers, "ProcessPoolExecutor", Watched)
    found = {}
    with FaultServer() as server:
        accounts = _board(server)
        for processes in (0, 1):
            config = write_config(tmp_path / f"workers-{processes}", accounts, workers=processes,
                                  allow_private_addresses=True)
            app = load_app(config)
            summary = Pipeline(app.settings, app.policy, app.store).run(app.registry.accounts, show_progress=False)
            assert [r.outcome for r in summary.results] == ["ok"] * ACCOUNTS
            found[processes] = _findings(app)
            app.close()
    assert events == ["start", "end"] * 3, "20 accounts, 8 a worker: three workers, one after the other"
    assert found[1] == found[0] and found[0]


CRAWL = """
import sys
from schoolaudit.app import load_app
from schoolaudit.pipeline import Pipeline
app = load_app(sys.argv[1])
Pipeline(app.settings, app.policy, app.store).run(app.registry.accounts, show_progress=False)
"""


def _workers(pid: int) -> set[int]:
    """The processes multiprocessing spawned for `pid`'s pool (not its resource tracker)."""
    found = set()
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            command = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if int(stat[stat.rindex(")") + 2:].split()[1]) == pid and b"spawn_main" in command:
            found.add(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def _wait_for(condition, seconds: float = 60.0) -> None:
    end = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > end:
            raise AssertionError("not there in time")
        time.sleep(0.05)


def test_a_killed_run_leaves_no_workers_and_the_next_run_audits_its_posts(tmp_path):
    release = threading.Event()
    with FaultServer() as server:
        accounts = _board(server)
        server.routes["/stalling.xml"] = stall(release, feed(rss(1, "stalling")))
        accounts["stalling"] = server.url + "/stalling.xml"
        config = write_config(tmp_path, accounts, workers=2, allow_private_addresses=True, timeout_seconds=60)
        crawl = subprocess.Popen([sys.executable, "-c", CRAWL, str(config)], cwd=tmp_path,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_for(lambda: server.hits["/stalling.xml"] >= 1 and len(_workers(crawl.pid)) == 2)
            workers = _workers(crawl.pid)
            os.kill(crawl.pid, signal.SIGKILL)
            assert crawl.wait(timeout=30) == -signal.SIGKILL
            _wait_for(lambda: not any(_alive(pid) for pid in workers), seconds=15)
        finally:
            if crawl.poll() is None:
                crawl.kill()
            release.set()

        app = load_app(config)
        summary = Pipeline(app.settings, app.policy, app.store).run(app.registry.accounts, show_progress=False)
        assert {r.outcome for r in summary.results} == {"ok"} and len(summary.results) == len(accounts)
        assert app.store.unaudited_posts() == []
        app.close()


def test_a_stopped_run_stops_its_workers_and_keeps_every_account_it_finished(tmp_path):
    release, stop = threading.Event(), threading.Event()
    with FaultServer() as server:
        accounts = _board(server)
        server.routes["/stalling.xml"] = stall(release, feed(rss(1, "stalling")))
        accounts["stalling"] = server.url + "/stalling.xml"
        config = write_config(tmp_path, accounts, workers=2, allow_private_addresses=True, timeout_seconds=60)
        app = load_app(config)

        def stop_when_only_the_stalling_account_is_left():
            _wait_for(lambda: _checked(app.settings.database) == ACCOUNTS)
            stop.set()

        pipeline = Pipeline(app.settings, app.policy, app.store)
        pipeline.stop = stop
        threading.Thread(target=stop_when_only_the_stalling_account_is_left, daemon=True).start()
        try:
            summary = pipeline.run(app.registry.accounts, show_progress=False)
        finally:
            release.set()
    assert sorted(r.account.id for r in summary.results) == sorted(set(accounts) - {"stalling"})
    assert {r.outcome for r in summary.results} == {"ok"}
    assert app.store.run(summary.run_id).status == "interrupted"
    assert _workers(os.getpid()) == set(), "the run's workers end with it"
    app.close()


def _checked(database) -> int:
    with sqlite3.connect(database, timeout=5) as conn:
        return conn.execute("SELECT count(DISTINCT account_id) FROM account_checks").fetchone()[0]


def test_a_worker_analyses_images_itself_whichever_file_its_image_rules_come_from(tmp_path):
    from auditors.image_analysis import ImageSettings
    from auditors.image_auditors import load_image_rules
    from schoolaudit.workers import analyse_images_here

    with FaultServer() as server:
        config = write_config(tmp_path, {"club": server.url + "/feed.xml"})
    policy = load_app(config).policy
    own_file = policy.rule_files.pop("student_photo_image", None)
    for rules_file in (own_file, None):  # the board's rules/student_photo_image.toml, then the bundled example's
        if rules_file is not None:
            policy.rule_files["student_photo_image"] = rules_file
        analyse_images_here(policy, threads=2)
        settings = ImageSettings.from_rules(load_image_rules(policy)[0])
        assert (settings.processes, settings.text_threads) == (1, 2)
        policy.rule_files.pop("student_photo_image")
    assert own_file is not None, "the example configuration has its own image rules"


def test_model_sessions_arenas_and_threads():
    """The face detector's and the text detector's sessions allocate each run's tensors from the process's
    arena (kSameAsRequested: regions the size asked for, where the default doubled them), which each run
    empties; the explicit scorer and the text recogniser keep none (an arena emptied after each run raised
    a worker's peak); all drop memory patterns and ask for exact int8 products on x86 CPUs without AVX-512 VNNI
    (see auditors/onnx_session.py). The text reader runs on the threads it is given (a worker gives it
    its cores: reading takes turns), the others on one."""
    from auditors import explicit_image, faces, image_text, onnx_session

    reader = image_text.TextReader(threads=2)
    sessions = [faces.FaceDetector().session, explicit_image.ExplicitScorer().session,
                reader.engine.text_det.session.session, reader.engine.text_rec.session.session]
    options = [session.get_session_options() for session in sessions]
    assert [(o.enable_cpu_mem_arena, o.enable_mem_pattern, o.intra_op_num_threads) for o in options] == \
        [(True, False, 1), (False, False, 1), (True, False, 2), (False, False, 2)]
    assert [_arena_emptied_after_each_run(session) for session in sessions] == [True, False, True, False]
    assert [_process_arena(o) for o in options] == [True, False, True, False]
    exact = "1" if onnx_session.exact_int8_option_needed() else None
    assert {_config_entry(o, "session.x64quantprecision") for o in options} == {exact}


def _config_entry(options, key: str) -> str | None:
    try:
        return options.get_session_config_entry(key)
    except RuntimeError:  # onnxruntime's answer for a key never set
        return None


LARGE_TENSOR_FREED = """
import sys
import numpy as np
from schoolaudit import workers
if sys.argv[1] == "worker":
    workers._one_heap_for_all_threads()
def resident_mb():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20
first = np.ones(12 * 2**20, np.uint8); del first  # a model's first large tensor
before = resident_mb()
tensor = np.ones(12 * 2**20, np.uint8)
after = np.ones(2**20, np.uint8)  # a smaller block allocated after it, as the next step's
del tensor
print(resident_mb() - before)
"""


def test_a_workers_freed_large_tensor_leaves_no_resident_hole():
    """glibc raises its mmap threshold to the largest block freed, so a model's next large tensor came from
    the heap and, freed below a smaller block, stayed resident until the account's trim: a worker maps
    blocks from 8 MB apart and unmaps them when freed (a process of its own: the setting is process-wide)."""
    from auditors.c_heap import glibc

    if glibc() is None:
        pytest.skip("tunes glibc's heap: this C library is not glibc")
    held = {kind: float(subprocess.run([sys.executable, "-c", LARGE_TENSOR_FREED, kind], capture_output=True,
                                       text=True, check=True).stdout) for kind in ("plain", "worker")}
    assert held["plain"] > 10 and held["worker"] < 3, held


def _process_arena(options) -> bool:
    try:
        return options.get_session_config_entry("session.use_env_allocators") == "1"
    except RuntimeError:  # onnxruntime's answer for an entry never set
        return False


def _arena_emptied_after_each_run(session) -> bool:
    return _empties_the_arena(session.default_run_options)


def _empties_the_arena(run_options) -> bool:
    return (run_options is not None
            and run_options.get_run_config_entry("memory.enable_memory_arena_shrinkage") == "cpu:0")


def test_a_face_detector_shared_by_a_workers_image_threads_empties_its_arena_after_each_heavy_run(monkeypatch):
    """Kept between runs, the arena grew with the threads sharing the detector (one thread: 117 MB
    kept; four: 494 MB): every heavy run (a pass at 1280 px), from any thread, must reach onnxruntime with the
    option that empties it; the lighter ones (the pass at 640 px, the turned passes) leave their tensors there for
    the next run; and two threads at once find what one finds."""
    from concurrent.futures import ThreadPoolExecutor

    import onnxruntime
    from PIL import Image

    from auditors.faces import HEAVY_INPUT, FaceDetector

    photos = [Image.open(Path(__file__).parent.parent / "schoolaudit/demo/site/images" / name).convert("RGB")
              for name in ("astronaut-visit.jpg", "library.jpg")]
    photos[1] = photos[1].resize((1280, 960))  # no face at 640 px: looked at 1280 px too, a heavy run
    detector = FaceDetector(turned=True)
    alone = [detector.detect(photo) for photo in photos]
    given, run = [], onnxruntime.InferenceSession.run
    monkeypatch.setattr(onnxruntime.InferenceSession, "run", lambda self, names, feed, options=None:
                        given.append((options, max(v.size for v in feed.values()))) or run(self, names, feed, options))
    with ThreadPoolExecutor(2) as pool:
        assert list(pool.map(detector.detect, photos * 2)) == alone * 2
    assert alone[0] and not alone[1]
    assert {(size >= HEAVY_INPUT, _empties_the_arena(options)) for options, size in given} == {(True, True), (False, False)}


def _stored_images(folder: Path, images: list[bytes]) -> list:
    """`images` laid out as the crawler stores them (`<sha256[:2]>/<sha256>.jpg`), as Media."""
    import hashlib

    from records.model import Media

    media = []
    for i, data in enumerate(images):
        sha = hashlib.sha256(data).hexdigest()
        path = folder / sha[:2] / f"{sha}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        media.append(Media(f"https://school.example.org/{i}.jpg", sha256=sha, path=str(path)))
    return media


def test_images_analysed_on_a_workers_threads_are_what_one_at_a_time_finds(tmp_path):
    """A worker's image threads share one set of models (the text reader taking turns): each image's faces,
    score and text are those of the image analysed alone."""
    from datetime import datetime, timezone

    from auditors.image_analysis import analyse_bytes
    from auditors.registry import load_auditors
    from flyers import draw_flyer
    from records.model import Post
    from schoolaudit.workers import _ImagesAhead

    photos = sorted((Path(__file__).parent.parent / "schoolaudit/demo/site/images").glob("*.jpg"))
    for i, lines in enumerate((["Bake sale Friday", "Gym doors open at noon"], ["Vote Jane Smith", "for trustee"])):
        draw_flyer(tmp_path / f"flyer-{i}.jpg", lines)
    images = [path.read_bytes() for path in photos + sorted(tmp_path.glob("flyer-*.jpg"))] * 2
    images = [data + bytes(i) for i, data in enumerate(images)]  # distinct files (bytes after the JPEG's end)
    media = _stored_images(tmp_path / "media", images)
    posts = [Post("club", "rss", str(i), None, datetime(2026, 3, 2, tzinfo=timezone.utc), "News", media[i::3])
             for i in range(3)]
    # the same picture twice at the start: two threads would take it at once
    posts.insert(0, Post("club", "rss", "again", None, datetime(2026, 3, 2, tzinfo=timezone.utc), "News",
                         [media[0], media[1], media[1]]))
    with FaultServer() as server:
        policy = load_app(write_config(tmp_path / "board", {"club": server.url + "/feed.xml"})).policy
    auditors, _ = load_auditors(policy)
    ahead = _ImagesAhead(auditors, 4)
    assert ahead.reader == "student_photo_image"
    ahead.wait_for(1, posts)
    image_auditor = next(a for a in auditors if a.name == "student_photo_image")
    analyser = image_auditor.analyser
    assert analyser.analysed == len(media), "an image in two posts is analysed once"
    found = analyser.analyse([m.path for m in media], [m.sha256 for m in media])
    assert all(analysis.cached for analysis in found), "every image was analysed ahead, none again"
    alone = [analyse_bytes(data, analyser.settings) for data in images]
    assert any(analysis.text for analysis in alone) and any(analysis.faces for analysis in alone)
    assert [a.to_dict() for a in found] == [a.to_dict() for a in alone]


def _accounts_of_photos(tmp_path, copies: int):
    """(image auditors of a board, `copies` accounts each holding the demo's photos as distinct files, one a post)."""
    from datetime import datetime, timezone

    from auditors.registry import load_auditors
    from records.model import Post

    photos = sorted((Path(__file__).parent.parent / "schoolaudit/demo/site/images").glob("*.jpg"))
    images = [path.read_bytes() for path in photos] * copies
    media = _stored_images(tmp_path / "media", [data + bytes(i) for i, data in enumerate(images)])
    with FaultServer() as server:
        policy = load_app(write_config(tmp_path / "board", {"club": server.url + "/feed.xml"})).policy
    auditors, _ = load_auditors(policy)
    accounts = [[Post("club", "rss", f"{n}-{i}", None, datetime(2026, 3, 2, tzinfo=timezone.utc), "News", [m])
                 for i, m in enumerate(media[n * len(photos):(n + 1) * len(photos)])] for n in range(copies)]
    return auditors, accounts


def test_an_accounts_images_go_to_the_threads_largest_first(tmp_path):
    """An account's images are handed to the threads largest file first, so that no core waits for its last big one."""
    from auditors.image_auditors import image_jobs, image_reader

    auditors, (posts,) = _accounts_of_photos(tmp_path, 1)
    by_size = sorted((m for post in posts for m in post.media), key=lambda m: Path(m.path).stat().st_size, reverse=True)
    assert [key for key, _ in image_jobs(image_reader(auditors), posts)] == [m.sha256 for m in by_size]


def test_an_account_told_ahead_has_its_images_analysed_before_its_turn(tmp_path):
    """The threads go on to the images of the accounts the crawling process told of, without waiting for their
    turn; at its turn an account waits only for what is left, and an account told of after its turn (the queue
    is slower than its turn) is not started again."""
    import queue

    from schoolaudit.workers import _ImagesAhead

    auditors, (first, second) = _accounts_of_photos(tmp_path, 2)
    ahead = _ImagesAhead(auditors, 2)
    told = queue.Queue()
    threading.Thread(target=ahead.listen, args=(told,), daemon=True).start()
    ahead.wait_for(1, first)  # its turn before anyone told of it
    analyser = next(a for a in auditors if a.name == "student_photo_image").analyser
    told.put((1, first))  # too late: its turn has come
    told.put((2, second))
    deadline = time.monotonic() + 120
    while analyser.analysed < len(first) + len(second) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert analyser.analysed == len(first) + len(second), "the second account's images analysed before its turn"
    assert told.empty() and not any(m.sha256 in ahead._running for post in first for m in post.media)
    ahead.wait_for(2, second)
    assert not ahead._running
    assert analyser.analysed == len(first) + len(second)


def test_closing_while_old_workers_retire_stops_them_too():
    """A stop that comes while the old pool finishes its accounts (its shutdown runs in a thread) ends that pool
    too: its queued account is dropped, not audited after the stop."""
    import time
    from concurrent.futures import CancelledError, ProcessPoolExecutor

    from schoolaudit.workers import WorkerAuditing

    auditing = WorkerAuditing(policy=None, processes=1)
    retiring = ProcessPoolExecutor(1)
    running = retiring.submit(time.sleep, 1.5)
    queued = [retiring.submit(time.sleep, 0) for _ in range(4)]
    time.sleep(0.3)  # the first is running, the others wait (the pool hands one more to its workers ahead)
    auditing._retiring = retiring
    auditing.close()
    assert auditing._retiring is None and running.done()
    with pytest.raises(CancelledError):
        queued[-1].result()
