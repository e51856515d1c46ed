"""Stop word lists for the search analyzer (space-separated strings: the readable form for word lists).

English is Lucene's EnglishAnalyzer set (also bm25s's default), with which BM25 on BEIR reproduces the published
baselines. Chinese is a short list of particles, prepositions and pronouns, in simplified characters because
the analyzer converts traditional text to simplified before it looks words up.
"""

from __future__ import annotations

ENGLISH: frozenset[str] = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their then there these"  # noqa: SIM905
    " they this to was will with".split()
)

CHINESE: frozenset[str] = frozenset(
    "的 了 着 过 是 在 和 与 及 或 而 也 都 就 又 被 把 对 从 为 以 之 其 于 由 这 那 个 些 吗 呢 吧"  # noqa: SIM905
    " 啊 呀 么 嘛 得 地".split()
)
