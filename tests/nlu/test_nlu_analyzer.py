"""The search analyzer: the terms English, Chinese (both scripts) and mixed text become."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from plait.nlu import Analyzer


def test_english_is_lowercased_stemmed_and_stop_words_dropped() -> None:
    terms = Analyzer()("The runners were running quickly in the park, and THE dogs ran too.")
    assert terms == ["runner", "were", "run", "quick", "park", "dog", "ran", "too"]


def test_english_splits_on_non_alphanumerics_and_drops_single_characters() -> None:
    # bm25s and scikit-learn drop one-character words; measured slightly better on SciFact train
    assert Analyzer()("COVID-19 cases rose 3.5% in 2024 (e.g. type_2)") == [
        "covid",
        "19",
        "case",
        "rose",
        "2024",
        "type",
    ]


def test_full_width_characters_are_normalised() -> None:
    assert Analyzer()("Ｈｅｌｌｏ　Ｗｏｒｌｄ　２０２４") == ["hello", "world", "2024"]


def test_options_turn_stop_words_and_stemming_off() -> None:
    text = "the running dogs"
    assert Analyzer(stopwords=False)(text) == ["the", "run", "dog"]
    assert Analyzer(stem=False)(text) == ["running", "dogs"]


def test_chinese_search_segmentation_adds_words_inside_long_words() -> None:
    assert Analyzer()("我爱自然语言处理") == ["我", "爱", "自然", "语言", "自然语言", "处理"]
    assert Analyzer(chinese_cut="exact")("我爱自然语言处理") == ["我", "爱", "自然语言", "处理"]


def test_traditional_chinese_gives_the_simplified_terms() -> None:
    analyzer = Analyzer()
    assert analyzer("我們愛自然語言處理") == ["我们", "爱", "自然", "语言", "自然语言", "处理"]
    assert analyzer("我愛北京天安門") == analyzer("我爱北京天安门")
    # without conversion jieba's simplified dictionary misses traditional words and falls back to characters
    assert Analyzer(simplify=False)("軟體開發") == ["軟", "體", "開", "發"]
    assert analyzer("軟體開發") == ["软体", "开发"]


def test_chinese_punctuation_and_whitespace_are_dropped() -> None:
    assert Analyzer()("你好，世界！ 再见。") == ["你好", "世界", "再见"]


def test_chinese_stop_words_are_optional() -> None:
    text = "北京是中国的首都"
    assert "的" in Analyzer()(text)
    assert Analyzer(chinese_stopwords=True)(text) == ["北京", "中国", "首都"]


def test_mixed_text_stems_english_runs_and_keeps_numbers() -> None:
    terms = Analyzer()("我们使用Python进行Running测试，共有2024个A股样本")
    assert terms == ["我们", "使用", "python", "进行", "run", "测试", "共有", "2024", "个", "a股", "样本"]


def test_language_is_irrelevant_for_english_and_chinese() -> None:
    text = "Search engines 搜索引擎 index documents"
    assert Analyzer("en")(text) == Analyzer("zh")(text) == Analyzer("auto")(text)


def test_other_languages_use_their_stemmer_and_no_english_stop_words() -> None:
    assert Analyzer("fr")("Les enfants chantaient") == ["le", "enfant", "chant"]
    assert Analyzer("german")("Die Häuser") == ["die", "haus"]


@pytest.mark.parametrize(
    ("kwargs", "message"), [({"language": "xx"}, "no Snowball stemmer"), ({"chinese_cut": "all"}, "chinese_cut")]
)
def test_bad_settings_are_rejected(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Analyzer(**kwargs)


@pytest.mark.parametrize("text", ["", "   ", "，。！", "a b c"])
def test_text_without_terms_gives_none(text: str) -> None:
    assert Analyzer()(text) == []


@pytest.mark.parametrize("bad", [None, b"bytes", 3.5])
def test_non_text_is_a_type_error(bad: Any) -> None:
    with pytest.raises(TypeError, match="text must be a str, not"):
        Analyzer()(bad)


def test_pickle_round_trip_keeps_settings_and_output() -> None:
    analyzer = Analyzer("auto", hmm=True, chinese_stopwords=True)
    copy = pickle.loads(pickle.dumps(analyzer))
    assert copy == analyzer
    for text in ["The runners were running", "我們愛自然語言處理", "Python进行Running测试"]:
        assert copy(text) == analyzer(text)
