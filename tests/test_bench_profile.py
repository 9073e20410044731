"""bench/crawl.py's profile shares: a stage's time counted once when its functions call each other."""
import cProfile
import importlib.util
import pstats
import time
from pathlib import Path

SPEC = importlib.util.spec_from_file_location("bench_crawl", Path(__file__).resolve().parent.parent / "bench" / "crawl.py")
bench_crawl = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(bench_crawl)


def record_check():
    time.sleep(0.02)


def store():
    time.sleep(0.02)
    record_check()  # as pipeline._store records a failed fetch's check


def test_a_stage_counts_a_call_between_its_own_functions_once():
    profile = cProfile.Profile()
    profile.enable()
    store()
    record_check()  # a check recorded outside the store counts too
    profile.disable()
    stats = pstats.Stats(profile)
    here = Path(__file__).name
    seconds = bench_crawl.stage_seconds(stats, [(here, "store"), (here, "record_check")])
    outside = sum(t[3] for (path, _, name), t in stats.stats.items() if path.endswith(here) and name in ("store", "record_check"))
    assert 0.06 <= seconds < outside - 0.015  # the three sleeps, not the nested one a second time
