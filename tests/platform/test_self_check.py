"""Support scores with the hashing embedder: an answer taken from the chunks passes, a made-up one does not."""

from __future__ import annotations

import pytest

from plait.embeddings.hashing import HashingEmbedder
from plait.platform.bot_config import BotConfig, KnowledgeSettings, ModelSettings
from plait.platform.self_check import SelfCheckSettings, Support, answer_sentences, support

CHUNKS = [
    "The Zephyr 3000 kettle must be descaled with citric acid every month.",
    "The warranty of the Zephyr 3000 covers two years from the date of purchase.",
]


async def _support(answer: str, bar: float = 0.35) -> Support:
    embedder = HashingEmbedder()
    sentences = answer_sentences(answer)
    vectors = await embedder.embed(sentences) if sentences else []
    return support(sentences, vectors, await embedder.embed(CHUNKS), bar)


async def test_an_answer_from_the_chunks_is_supported() -> None:
    result = await _support(
        "Descale the Zephyr 3000 kettle with citric acid every month. The warranty covers two years."
    )
    assert result.score == 1.0 and result.passes(0.5)
    assert result.sentences[0][0].startswith("Descale")


async def test_a_made_up_sentence_lowers_the_share() -> None:
    result = await _support("Descale the Zephyr kettle with citric acid every month. Penguins enjoy jazz on Tuesdays.")
    assert result.score == 0.5
    assert result.sentences[1][1] < 0.35 <= result.sentences[0][1]
    assert not (await _support("Penguins enjoy jazz on Tuesdays.")).passes(0.5)


async def test_no_claim_passes_and_no_chunk_fails() -> None:
    assert (await _support("Ok")).score == 1.0
    assert support(["A claim."], [[1.0, 0.0]], [], 0.35).score == 0.0


def test_settings_are_checked_and_stored_with_the_knowledge() -> None:
    with pytest.raises(ValueError, match="threshold"):
        SelfCheckSettings(threshold=2.0)
    with pytest.raises(ValueError, match="on_fail"):
        SelfCheckSettings.from_json({"on_fail": "shout"})
    config = BotConfig(
        name="kb",
        model=ModelSettings(model_id=""),
        knowledge=KnowledgeSettings(dataset_ids=("d",)),
        self_check=SelfCheckSettings(threshold=0.7, on_fail="retry"),
    )
    assert config.columns()["knowledge"]["self_check"]["on_fail"] == "retry"
    assert BotConfig.from_columns(config.columns()) == config
