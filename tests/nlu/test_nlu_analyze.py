"""analyze(): tokens with POS tags and entity labels, for Chinese (both scripts) and English."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from plait.nlu import Analysis, analyze, analyze_async, tagging


def _triples(text: str) -> list[tuple[str, str, str]]:
    return [(token["text"], token["pos"], token["ner"]) for token in analyze(text)["tokens"]]


def test_result_has_exactly_the_documented_shape() -> None:
    result = analyze("李明在北京大学读书")
    assert set(result) == {"text", "language", "tokens"}
    assert result["text"] == "李明在北京大学读书"
    assert result["language"] == "zh"
    assert all(set(token) == {"text", "pos", "ner"} for token in result["tokens"])
    assert all(isinstance(value, str) for token in result["tokens"] for value in token.values())


def test_chinese_person_and_organisation() -> None:
    assert _triples("李明在北京大学读书") == [
        ("李明", "nr", "PERSON"),
        ("在", "p", "O"),
        ("北京大学", "nt", "ORG"),
        ("读书", "n", "O"),
    ]


def test_chinese_place() -> None:
    assert ("上海", "ns", "LOCATION") in _triples("张伟明天去上海出差")


def test_traditional_text_is_tagged_like_simplified_and_keeps_its_characters() -> None:
    triples = _triples("李明在北京大學讀書。")
    assert triples == [
        ("李明", "nr", "PERSON"),
        ("在", "p", "O"),
        ("北京大學", "nt", "ORG"),
        ("讀書", "n", "O"),
        ("。", "x", "O"),
    ]


def test_chinese_tokens_cover_the_text_except_whitespace() -> None:
    text = "我們用 Python 分析資料，\n共 3.5% 的樣本😀"
    tokens = analyze(text)["tokens"]
    assert "".join(token["text"] for token in tokens) == "".join(text.split())
    assert ("Python", "eng", "O") in [(t["text"], t["pos"], t["ner"]) for t in tokens]


def test_english_proper_names_and_closed_class_words() -> None:
    assert _triples("Marie Curie worked in Paris.") == [
        ("Marie", "nz", "PROPER"),
        ("Curie", "nz", "PROPER"),
        ("worked", "eng", "O"),
        ("in", "p", "O"),
        ("Paris", "nz", "PROPER"),
        (".", "x", "O"),
    ]


def test_english_span_rules() -> None:
    triples = _triples("The University of Paris has 30,000 students. Yesterday I met them.")
    labels = {text: ner for text, _, ner in triples}
    assert labels["The"] == "O"  # a leading function word is not part of the name
    assert labels["University"] == labels["of"] == labels["Paris"] == "PROPER"
    assert labels["Yesterday"] == "O"  # one capitalised word opening a sentence
    assert labels["I"] == "O"
    assert ("30,000", "m", "O") not in triples  # the comma splits the number
    assert ("30", "m", "O") in triples


def test_empty_and_blank_text_give_no_tokens() -> None:
    empty = analyze("")
    assert (empty["text"], empty["language"], empty["tokens"]) == ("", "other", [])
    assert analyze("  \n")["tokens"] == []


@pytest.mark.parametrize("bad", [None, b"\xe4\xbd\xa0", 1])
def test_non_text_is_a_type_error(bad: Any) -> None:
    with pytest.raises(TypeError, match="text must be a str"):
        analyze(bad)


async def test_analyze_async_runs_in_a_worker_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[threading.Thread] = []
    original = tagging.analyze

    def spy(text: str) -> Analysis:
        threads.append(threading.current_thread())
        return original(text)

    monkeypatch.setattr(tagging, "analyze", spy)
    results = await asyncio.gather(analyze_async("李明在北京大学读书"), analyze_async("Marie Curie worked in Paris."))
    assert [result["language"] for result in results] == ["zh", "en"]
    assert results[0] == original("李明在北京大学读书")
    assert threads and all(thread is not threading.main_thread() for thread in threads)


async def test_analyze_async_rejects_bad_input_before_starting_a_thread() -> None:
    with pytest.raises(TypeError, match="text must be a str"):
        await analyze_async(b"bytes")  # type: ignore[arg-type]
