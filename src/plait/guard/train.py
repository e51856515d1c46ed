"""Trains the injection classifier and writes ``plait/guard/injection/weights.npz``:

    python -m plait.guard.train [--data /work/shared/data/prompt_injection] [--out PATH]

Training data (docs/guard.md has provenance and licences): the jackhhao jailbreak train split, the PINT rows of
InjecGuard's ``valid.json`` (its rows copied from the test sets are dropped), and the examples composed in
`plait.guard.examples`. Held-out test splits are never read: ``benchmarks/guard.py`` measures on them.

A fifth of the rows (seeded, by class) is held back to choose the threshold: the lowest at which the rules plus
the classifier flag at most `FALSE_POSITIVE_BUDGET` of its benign rows, since refusing a benign message costs
more than letting a mild attack through to a model that sees it framed. The model is then refitted on all rows.
Full-batch logistic regression with Adam on sparse hashed rows, numpy only; a rerun writes the same weights."""

from __future__ import annotations

import argparse
import csv
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from plait.guard.examples import examples
from plait.guard.injection.classifier import WEIGHTS, Classifier
from plait.guard.injection.features import DIM, hashed
from plait.guard.injection.rules import matches

DEFAULT_DATA = Path(os.environ.get("PLAIT_INJECTION_DATA", "/work/shared/data/prompt_injection"))
TEST_FILES = ("NotInject_one.json", "NotInject_two.json", "NotInject_three.json", "wildguard.json")
TEST_GROUPED = ("BIPIA_text.json", "BIPIA_code.json")
VALIDATION_FRACTION = 0.2
FALSE_POSITIVE_BUDGET = 0.02


def _test_texts(data: Path) -> set[str]:
    folder = data / "injecguard"
    texts = {row["prompt"] for name in TEST_FILES if (folder / name).exists() for row in _json(folder / name)}
    for name in TEST_GROUPED:
        if (folder / name).exists():
            texts |= {text for group in _json(folder / name).values() for text in group}
    return texts


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def training_rows(data: Path) -> list[tuple[str, int]]:
    with (data / "jackhhao" / "jailbreak_dataset_train.csv").open(encoding="utf-8", newline="") as handle:
        rows = [(row["prompt"], int(row["type"] == "jailbreak")) for row in csv.DictReader(handle)]
    valid = data / "injecguard" / "valid.json"
    if valid.exists():
        held_out = _test_texts(data)
        rows += [(r["prompt"], int(r["label"])) for r in _json(valid) if r["prompt"] not in held_out]
    return rows + examples()


def fit(
    rows: list[tuple[str, int]], *, epochs: int = 300, rate: float = 0.05, l2: float = 1e-4, threshold: float = 0.5
) -> Classifier:
    """Class-balanced logistic loss, full batch; the rows stay sparse (bincount is the sparse product)."""
    encoded = [hashed(text) for text, _ in rows]
    row_of = np.concatenate([np.full(len(i), r, dtype=np.int64) for r, (i, _) in enumerate(encoded)])
    cols = np.concatenate([i for i, _ in encoded])
    vals = np.concatenate([v for _, v in encoded]).astype(np.float64)
    labels = np.array([label for _, label in rows], dtype=np.float64)
    positives = labels.mean()
    sample = np.where(labels == 1, 0.5 / positives, 0.5 / (1 - positives)) / len(rows)
    weights, bias = np.zeros(DIM), 0.0
    moments: list[npt.NDArray[np.float64]] = [np.zeros(DIM + 1), np.zeros(DIM + 1)]
    for step in range(1, epochs + 1):
        logits = np.bincount(row_of, weights=weights[cols] * vals, minlength=len(rows)) + bias
        error = (1 / (1 + np.exp(-logits)) - labels) * sample
        grad = np.append(np.bincount(cols, weights=vals * error[row_of], minlength=DIM) + l2 * weights, error.sum())
        moments[0] = 0.9 * moments[0] + 0.1 * grad
        moments[1] = 0.999 * moments[1] + 0.001 * grad**2
        update = rate * (moments[0] / (1 - 0.9**step)) / (np.sqrt(moments[1] / (1 - 0.999**step)) + 1e-8)
        weights -= update[:DIM]
        bias -= float(update[DIM])
    return Classifier(weights.astype(np.float32), bias, threshold)


def split(rows: list[tuple[str, int]], seed: int = 0) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """Training and validation rows, the validation a seeded `VALIDATION_FRACTION` of each class."""
    order = np.random.default_rng(seed).permutation(len(rows))
    held: set[int] = set()
    for label in (0, 1):
        members = [int(i) for i in order if rows[i][1] == label]
        held.update(members[: round(len(members) * VALIDATION_FRACTION)])
    return [r for i, r in enumerate(rows) if i not in held], [r for i, r in enumerate(rows) if i in held]


def choose_threshold(model: Classifier, validation: list[tuple[str, int]]) -> float:
    """The lowest threshold (in hundredths) whose false-positive rate on the validation's benign rows, rules
    included, is within `FALSE_POSITIVE_BUDGET`."""
    benign = [text for text, label in validation if label == 0]
    ruled = np.array([bool(matches(text)) for text in benign])
    scores = np.array([model.score(text) for text in benign])
    for threshold in np.arange(0.05, 1.0, 0.01):
        if float(np.mean(ruled | (scores >= threshold))) <= FALSE_POSITIVE_BUDGET:
            return round(float(threshold), 2)
    return 0.99


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=WEIGHTS)
    args = parser.parse_args(argv)
    if not (args.data / "jackhhao" / "jailbreak_dataset_train.csv").exists():
        raise SystemExit(f"no training data under {args.data}: see docs/guard.md")
    rows = training_rows(args.data)
    training, validation = split(rows)
    threshold = choose_threshold(fit(training), validation)
    classifier = fit(rows, threshold=threshold)
    classifier.save(args.out)
    attacks = sum(label for _, label in rows)
    print(f"trained on {len(rows)} rows ({attacks} attacks), threshold {threshold} on validation; wrote {args.out}")


if __name__ == "__main__":
    main()
