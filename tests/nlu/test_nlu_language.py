"""Language detection by script, and telling traditional from simplified Chinese."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from plait.nlu import detect_language, is_traditional


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The quick brown fox jumps over the lazy dog.", "en"),
        ("我们使用自然语言处理技术分析文本。", "zh"),
        ("我們使用自然語言處理技術分析文本。", "zh"),
        ("我们使用Python和PyTorch进行数据分析", "zh"),  # Chinese sentence with English terms
        ("The word 中国 means China in Mandarin.", "en"),  # English sentence with a Chinese word
        ("Le chat est sur la table et les enfants jouent dans le jardin.", "fr"),
        ("Der Hund ist nicht im Garten, und die Katze schläft.", "de"),
        ("El perro de mi hermano es muy grande y come mucho.", "es"),
        ("これは日本語の文章です。東京に行きます。", "ja"),
        ("안녕하세요 세계", "ko"),
        ("Привет, мир", "ru"),
        ("Paris", "en"),  # no function words to vote with: Latin script defaults to English
        ("", "other"),
        ("12345 !!! ...", "other"),
    ],
)
def test_detect_language(text: str, expected: str) -> None:
    assert detect_language(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我們使用自然語言處理技術分析文本", True),
        ("多少米為毓秀台的高度?", True),  # 台 is standard in Taiwan too: it does not count as simplified
        ("我们使用自然语言处理技术分析文本", False),
        ("台湾的软件", False),
        ("白矮星和中子星的前身都是？", False),  # only characters both forms share
        ("Plain English text", False),
        ("", False),
    ],
)
def test_is_traditional(text: str, expected: bool) -> None:
    assert is_traditional(text) is expected


@pytest.mark.parametrize("function", [detect_language, is_traditional])
@pytest.mark.parametrize("bad", [None, b"bytes", 42, ["text"]])
def test_non_text_is_a_type_error(function: Callable[[Any], object], bad: object) -> None:
    with pytest.raises(TypeError, match="text must be a str"):
        function(bad)
