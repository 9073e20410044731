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
