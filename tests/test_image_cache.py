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


def test_forgetting_empties_memory_only_where_the_file_keeps_the_analyses(tmp_path):
    kept = ImageCache(tmp_path / "image-analysis.sqlite")
    alone = ImageCache(None)
    for cache in (kept, alone):
        for n in range(3):
            cache.put(f"{n:064x}", PARAMS, _analysis(n))
        cache.forget()
    assert not kept.memory and kept.get(f"{2:064x}", PARAMS) == _analysis(2)  # read back from the file
    assert len(alone.memory) == 3, "nowhere else to read them from: forgetting would mean analysing again"


def test_forgetting_analyses_empties_every_shared_analysers_memory(tmp_path):
    """What an audit worker does after each account: it then holds no earlier account's analyses."""
    from auditors.image_analysis import ImageSettings
    from auditors.image_auditors import forget_analyses, shared_analyser

    analyser = shared_analyser(ImageSettings(), tmp_path / "image-analysis.sqlite")
    analyser.cache.put(f"{7:064x}", PARAMS, _analysis(7))
    forget_analyses()
    assert not analyser.cache.memory and analyser.cache.get(f"{7:064x}", PARAMS) == _analysis(7)
