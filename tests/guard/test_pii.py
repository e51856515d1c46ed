"""PII masking: every generated email, phone, ID and card inside arbitrary text is masked; checksums decide."""

from __future__ import annotations

import logging

from hypothesis import given
from hypothesis import strategies as st

from plait.guard import pii
from plait.guard.logs import PiiMaskingFilter, mask_event

# Filler that cannot join a PII token: letters, CJK and punctuation, no digits, "@", "+" or "-".
_FILLER = st.text(alphabet=st.sampled_from("abc XYZ,.!?你好世界：。\n"), max_size=30)
_SEP = st.sampled_from([" ", "\n", "，", ": "])


def _luhn_completed(body: str) -> str:
    return next(body + d for d in "0123456789" if pii.luhn_valid(body + d))


_cards = st.sampled_from(["4", "51", "37", "6011", "62"]).flatmap(
    lambda prefix: st.text("0123456789", min_size=15 - len(prefix), max_size=15 - len(prefix)).map(
        lambda rest: _luhn_completed(prefix + rest)
    )
)
_resident_ids = st.tuples(
    st.sampled_from(["110105", "310101", "440305"]),
    st.dates().map(lambda d: f"{max(d.year, 1900):04d}{d.month:02d}{d.day:02d}"),
    st.text("0123456789", min_size=3, max_size=3),
).map(lambda parts: "".join(parts) + pii.resident_id_check("".join(parts)))
_mobiles = st.tuples(st.sampled_from("3456789"), st.text("0123456789", min_size=9, max_size=9)).map(
    lambda parts: "1" + parts[0] + parts[1]
)
_emails = st.tuples(
    st.from_regex(r"[a-z][a-z0-9._]{0,10}", fullmatch=True), st.from_regex(r"[a-z]{2,8}\.(com|cn|org)", fullmatch=True)
).map(lambda parts: f"{parts[0]}@{parts[1]}")


def _grouped(number: str) -> st.SearchStrategy[str]:
    return st.sampled_from([number, " ".join(number[i : i + 4] for i in range(0, len(number), 4))])


@given(_FILLER, _SEP, st.one_of(_cards.flatmap(_grouped), _resident_ids, _mobiles, _emails), _SEP, _FILLER)
def test_pii_in_text_is_masked(before: str, sep1: str, secret: str, sep2: str, after: str) -> None:
    masked = pii.mask(before + sep1 + secret + sep2 + after)
    assert secret not in masked
    assert masked.startswith(before + sep1) and masked.endswith(sep2 + after)


@given(_cards)
def test_a_card_with_a_wrong_check_digit_is_kept(card: str) -> None:
    wrong = card[:-1] + str((int(card[-1]) + 1) % 10)
    assert pii.mask(f"order {wrong} shipped") == f"order {wrong} shipped"


@given(_resident_ids)
def test_resident_ids_are_masked_as_ids_by_their_check_digit(number: str) -> None:
    assert pii.mask(f"身份证号{number}。") in ("身份证号[ID]。",)


@given(st.text())
def test_masking_is_idempotent(text: str) -> None:
    once = pii.mask(text)
    assert pii.mask(once) == once


@given(st.text(alphabet=st.characters(exclude_categories=["Nd"], exclude_characters="@")))
def test_text_without_digits_or_at_signs_is_untouched(text: str) -> None:
    assert pii.mask(text) == text


def test_formats() -> None:
    assert pii.mask("call +86 138 1234 5678 or 13812345678") == "call [PHONE] or [PHONE]"
    assert pii.mask("(415) 555-2671 / +1 415 555 2671 / 010-12345678") == "[PHONE] / [PHONE] / [PHONE]"
    assert pii.mask("ssn 123-45-6789") == "ssn [ID]"
    assert pii.mask("release v1.2.3 on 2024-01-02, build 20240101123456") == (
        "release v1.2.3 on 2024-01-02, build 20240101123456"
    )


def test_log_filter_masks_the_rendered_message() -> None:
    record = logging.LogRecord(
        "t", logging.INFO, __file__, 1, "user %s paid with %s", ("a@b.cn", "4111111111111111"), None
    )
    assert PiiMaskingFilter().filter(record)
    assert record.getMessage() == "user [EMAIL] paid with [CARD]"
    assert mask_event(None, "info", {"event": "sms to 13812345678", "n": 1}) == {"event": "sms to [PHONE]", "n": 1}
