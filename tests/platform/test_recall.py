"""Where a summary ends: past the rounds the prompt left out and the older half of those it kept, so that the
next turns fit without summarising again."""

from __future__ import annotations

from plait.platform.memory.recall import Recall
from plait.schema import Message

ROUNDS = tuple(f"q{i}" for i in range(10))


def _history(rounds: int) -> list[Message]:
    return [message for i in range(rounds) for message in (Message.user(f"q{i}"), Message.assistant(f"a{i}"))]


def test_a_prompt_that_keeps_everything_folds_nothing() -> None:
    recall = Recall(round_ids=ROUNDS)
    recall.note_prompt(_history(10), kept=20)
    assert recall.dropped_rounds == 0
    assert recall.cut is None


def test_the_fold_takes_the_dropped_rounds_and_half_the_kept_ones() -> None:
    recall = Recall(round_ids=ROUNDS)
    recall.note_prompt(_history(10), kept=12)  # the latest 6 rounds kept, 4 dropped
    assert recall.dropped_rounds == 4
    assert recall.cut == "q7"  # 4 dropped + 3 of the 6 kept: the next 3 turns fit without a summary


def test_a_prompt_of_one_round_folds_all_before_it() -> None:
    recall = Recall(round_ids=ROUNDS)
    recall.note_prompt(_history(10), kept=2)
    assert recall.cut == "q9"


def test_an_unread_older_history_is_folded_even_when_the_prompt_dropped_nothing() -> None:
    recall = Recall(round_ids=ROUNDS[:4], older_unread=True)
    recall.note_prompt(_history(4), kept=8)
    assert recall.cut == "q2"
