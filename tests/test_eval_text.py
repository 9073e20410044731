"""bench/eval_text.py: --errors never prints the posts of a measurement file."""
import pytest

from bench import eval_text


@pytest.mark.parametrize("path", ["../shared/corpus/dev_posts.jsonl", "bench/data/heldout4_posts.jsonl",
                                  "bench/data/heldout22_posts.jsonl", "../blind7/heldout7_posts.jsonl"])
def test_errors_refuses_a_measurement_file_before_reading_anything(path, capsys, monkeypatch):
    monkeypatch.setattr(eval_text, "load", lambda config: pytest.fail("loaded the rules"))
    with pytest.raises(SystemExit) as exit_info:
        eval_text.main([path, "--errors"])
    assert exit_info.value.code == 2
    assert "is a measurement: --errors would print its posts" in capsys.readouterr().err


def test_errors_lists_the_wrong_posts_of_a_development_file(tmp_path, capsys):
    posts = tmp_path / "mine_posts.jsonl"
    posts.write_text('{"id": "p1", "platform": "x", "account": {"name": "Lakeview PS", "kind": "school"}, '
                     '"text": "Spirit week starts Monday!", "labels": ["hostile"]}\n', encoding="utf-8")
    assert eval_text.main([str(posts), "--errors"]) == 0
    assert "p1 gold=['hostile'] pred=[]" in capsys.readouterr().out


def test_a_measurement_among_several_files_is_refused_too(tmp_path, capsys, monkeypatch):
    mine = tmp_path / "mine_posts.jsonl"
    mine.write_text("", encoding="utf-8")
    monkeypatch.setattr(eval_text, "load", lambda config: pytest.fail("loaded the rules"))
    with pytest.raises(SystemExit) as exit_info:
        eval_text.main([str(mine), "bench/data/heldout27_posts.jsonl", "--errors"])
    assert exit_info.value.code == 2
    assert "heldout27_posts.jsonl is a measurement" in capsys.readouterr().err


def test_several_files_are_scored_as_their_posts_pooled(tmp_path, capsys):
    """Two files give the figures of one file holding both: pooled counts, not an average of the two."""
    lines = ['{"id": "p1", "platform": "x", "text": "Some of you parents are clueless and it shows.", '
             '"labels": ["hostile"]}',
             '{"id": "p2", "platform": "x", "text": "Spirit week starts Monday!", "labels": ["hostile"]}',
             '{"id": "p3", "platform": "x", "text": "Root beer floats at the picnic.", "labels": []}']
    first, second, both = (tmp_path / f"{name}_posts.jsonl" for name in ("first", "second", "both"))
    first.write_text(lines[0] + "\n", encoding="utf-8")
    second.write_text("\n".join(lines[1:]) + "\n", encoding="utf-8")
    both.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def table(*files):
        eval_text.main([str(f) for f in files])
        return capsys.readouterr().out.split("\nspeed:")[0]

    pooled = table(first, second)
    assert pooled == table(both) and "all posts: 3 posts, 1 clean" in pooled
    assert "hostile                   1.00  0.50  0.67    2    0    1" in pooled
