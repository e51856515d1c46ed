"""Text analysis: language detection, search terms for BM25 indexes, and segmentation with POS and entities.

Importing this package loads nothing heavy: jieba, OpenCC and the stemmers load on first use, once per process.
"""

from __future__ import annotations

from plait.nlu.analyzer import Analyzer, ChineseCut
from plait.nlu.language import detect_language, is_traditional
from plait.nlu.tagging import Analysis, Token, analyze, analyze_async

__all__ = [
    "Analysis",
    "Analyzer",
    "ChineseCut",
    "Token",
    "analyze",
    "analyze_async",
    "detect_language",
    "is_traditional",
]
