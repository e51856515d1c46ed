"""Tool names made safe for model APIs and unique within a list."""

from __future__ import annotations

from plait.tools.tool_names import MAX_LENGTH, PATTERN, safe_name, unique_names


def test_names_keep_what_models_accept_and_replace_the_rest() -> None:
    assert safe_name("get_weather-2", "x") == "get_weather-2"
    assert safe_name("  Travel  Planner (beta) ", "x") == "Travel_Planner_beta"
    assert safe_name("fs.read/file", "x") == "fs_read_file"
    assert safe_name("旅行助手", "bot_7") == "bot_7"  # nothing left: the fallback
    assert safe_name("", "") == "tool"
    assert len(safe_name("a" * 100, "x")) == MAX_LENGTH


def test_repeats_get_numbered_within_the_length_limit() -> None:
    long = "b" * MAX_LENGTH
    names = unique_names(["a", "a", "a_2", "a", long, long])
    assert names == ["a", "a_2", "a_2_2", "a_3", long, "b" * (MAX_LENGTH - 2) + "_2"]
    assert all(PATTERN.fullmatch(name) for name in names)
