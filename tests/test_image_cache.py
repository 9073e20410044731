"""The image analysis cache: its memory layer stays bounded, and what it forgets the file still has."""
from records.image_cache import MEMORY_ENTRIES, ImageCache

PARAMS = "params-1"


def _analysis(n: int) -> dict:
    return {"sha256": f"{n:064x}", "width": 640, "height": 480, "faces": [{"box": [n, 2, 30, 30], "score": 0.9}],
            "explicit": 0.1, "text": "", "error": None}


def test_memory_keeps_the_most_recently_used_analyses_only(tmp_path):
    cache = ImageCache(tmp_path / "image-analysis.sqlite")
    cache.put(f"{0:064x}", PARAMS, _analysis(0))
    for n in range(1, MEMORY_ENTRIES + 500):
        cache.put(f"{n:064x}", PARAMS, _analysis(n))
        if n % 100 == 0:
            assert (f"{0:064x}", PARAMS) in cache.memory  # a read keeps it among the most recently used
            assert cache.get(f"{0:064x}", PARAMS) is not None  # used again now and then: kept in memory
    assert len(cache.memory) == MEMORY_ENTRIES
    assert (f"{0:064x}", PARAMS) in cache.memory
    assert (f"{1:064x}", PARAMS) not in cache.memory  # the least recently used went first
    # what memory forgot is read back from the file, and remembered again
    assert cache.get(f"{1:064x}", PARAMS) == _analysis(1)
    assert (f"{1:064x}", PARAMS) in cache.memory and len(cache.memory) == MEMORY_ENTRIES


def test_memory_only_cache_is_bounded_too():
    cache = ImageCache(None)
    for n in range(MEMORY_ENTRIES * 2):
        cache.put(f"{n:064x}", PARAMS, _analysis(n))
    assert len(cache.memory) == MEMORY_ENTRIES
    assert cache.get(f"{MEMORY_ENTRIES * 2 - 1:064x}", PARAMS) == _analysis(MEMORY_ENTRIES * 2 - 1)
    assert cache.get(f"{0:064x}", PARAMS) is None
