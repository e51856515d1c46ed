"""A logistic regression over `features.hashed`, its weights shipped in the package (``weights.npz``, made by
``python -m plait.guard.train``): a few milliseconds per message on a CPU, no model download."""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from plait.guard.injection.features import DIM, hashed

WEIGHTS = Path(__file__).with_name("weights.npz")


class Classifier:
    def __init__(self, weights: npt.NDArray[np.float32], bias: float, threshold: float) -> None:
        if weights.shape != (DIM,):
            raise ValueError(f"expected {DIM} weights, got {weights.shape}: retrain with python -m plait.guard.train")
        self.weights = weights
        self.bias = bias
        self.threshold = threshold

    def score(self, text: str) -> float:
        """The probability that ``text`` is an injection or jailbreak attempt."""
        indices, values = hashed(text)
        logit = float(self.weights[indices] @ values) + self.bias
        return 1 / (1 + math.exp(-max(min(logit, 30.0), -30.0)))

    def save(self, path: Path) -> None:
        np.savez_compressed(
            path, weights=self.weights.astype(np.float16), bias=np.float32(self.bias), threshold=self.threshold
        )

    @classmethod
    def load(cls, path: Path) -> Classifier:
        with np.load(path) as data:
            return cls(data["weights"].astype(np.float32), float(data["bias"]), float(data["threshold"]))


@cache
def shipped() -> Classifier | None:
    """The package's trained classifier; None when the weights file is missing (the rules still run)."""
    return Classifier.load(WEIGHTS) if WEIGHTS.exists() else None
