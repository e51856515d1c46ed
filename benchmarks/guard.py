"""Prompt-injection detection (plait.guard.injection: rules + hashed n-gram logistic regression) on the held-out
test splits in ``/work/shared/data/prompt_injection`` (``PLAIT_INJECTION_DATA``), next to published figures.

Over-defence: accuracy on benign sets (NotInject 1-3, WildGuard benign); attacks: accuracy on BIPIA's text and
code injections (InjecGuard's test sets), also by BIPIA's attack family; F1 on the jackhhao jailbreak test split;
p50/p99 latency per message.

    .venv/bin/python benchmarks/guard.py [--json PATH]
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import time
from pathlib import Path
from typing import Any

from _report import print_table, write_json
from plait.guard.injection import detect
from plait.guard.train import DEFAULT_DATA

HERE = Path(__file__).resolve().parent
# (NotInject, WildGuard benign, attacks) accuracy, % — InjecGuard paper, Table 2
PUBLISHED = {
    "Lakera Guard": (87.6, 90.9, 53.2),
    "ProtectAI deberta v2": (56.6, 86.2, 48.6),
    "InjecGuard": (87.3, 85.7, 77.4),
}


# BIPIA's text attacks come in three families (Yi et al., BIPIA): task-irrelevant ones are ordinary tasks, attacks
# only where planted in a document; task-relevant ones change the answer's form; targeted ones plant content
TASK_IRRELEVANT = {
    "Task Automation",
    "Business Intelligence",
    "Conversational Agent",
    "Research Assistance",
    "Sentiment Analysis",
}
TASK_RELEVANT = {"Substitution Ciphers", "Base Encoding", "Reverse Text", "Emoji Substitution", "Language Translation"}


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def load_sets(data: Path) -> dict[str, list[tuple[str, int]]]:
    folder = data / "injecguard"
    notinject = [r["prompt"] for n in ("one", "two", "three") for r in _json(folder / f"NotInject_{n}.json")]
    wildguard = [r["prompt"] for r in _json(folder / "wildguard.json")]
    attacks = [t for n in ("text", "code") for group in _json(folder / f"BIPIA_{n}.json").values() for t in group]
    sets = {
        "NotInject (benign)": [(t, 0) for t in notinject],
        "WildGuard (benign)": [(t, 0) for t in wildguard],
        "BIPIA (attacks)": [(t, 1) for t in attacks],
    }
    test = data / "jackhhao" / "jailbreak_dataset_test.csv"
    if test.exists():
        with test.open(encoding="utf-8", newline="") as handle:
            sets["jackhhao test"] = [(r["prompt"], int(r["type"] == "jailbreak")) for r in csv.DictReader(handle)]
    return sets


def bipia_families(data: Path) -> dict[str, list[str]]:
    """BIPIA's attacks by family: the text ones in BIPIA's three, the code ones together."""
    families: dict[str, list[str]] = {"task-irrelevant": [], "task-relevant": [], "targeted": [], "code": []}
    for name in ("text", "code"):
        for category, group in _json(data / "injecguard" / f"BIPIA_{name}.json").items():
            if name == "code":
                families["code"] += group
            elif category in TASK_IRRELEVANT:
                families["task-irrelevant"] += group
            else:
                families["task-relevant" if category in TASK_RELEVANT else "targeted"] += group
    return families


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--json", type=Path, default=HERE / "results" / "guard.json")
    args = parser.parse_args()
    if not (args.data / "injecguard").exists():
        raise SystemExit(f"no evaluation data under {args.data}: nothing to measure")
    rows, results, latencies = [], {}, []
    for name, items in load_sets(args.data).items():
        predicted = []
        for text, _ in items:
            started = time.perf_counter()
            predicted.append(int(detect(text).injection))
            latencies.append((time.perf_counter() - started) * 1000)
        accuracy = 100 * sum(p == y for p, (_, y) in zip(predicted, items, strict=True)) / len(items)
        tp = sum(p and y for p, (_, y) in zip(predicted, items, strict=True))
        f1 = 2 * tp / (sum(predicted) + sum(y for _, y in items)) if any(y for _, y in items) else None
        results[name] = {"n": len(items), "accuracy": round(accuracy, 1), "f1": None if f1 is None else round(f1, 3)}
        rows.append([name, len(items), f"{accuracy:.1f}", "" if f1 is None else f"{f1:.3f}"])
    at = 1 + [row[0] for row in rows].index("BIPIA (attacks)")
    for family, texts in bipia_families(args.data).items():
        caught = 100 * sum(detect(text).injection for text in texts) / len(texts)
        results[f"BIPIA {family}"] = {"n": len(texts), "accuracy": round(caught, 1), "f1": None}
        rows.insert(at, [f"  of which {family}", len(texts), f"{caught:.1f}", ""])
        at += 1
    print_table("plait.guard.injection on held-out test splits", ["set", "n", "accuracy %", "F1"], rows)
    plait = tuple(results[k]["accuracy"] for k in ("NotInject (benign)", "WildGuard (benign)", "BIPIA (attacks)"))
    table = [[name, *figures] for name, figures in [*PUBLISHED.items(), ("plait (this run)", plait)]]
    print_table(
        "Accuracy %, next to published figures", ["detector", "NotInject", "WildGuard benign", "attacks"], table
    )
    p50, p99 = statistics.median(latencies), statistics.quantiles(latencies, n=100)[98]
    print(f"latency per message: p50 {p50:.2f} ms, p99 {p99:.2f} ms over {len(latencies)} messages (target p50 < 5)")
    write_json(args.json, {"sets": results, "published": PUBLISHED, "latency_ms": {"p50": p50, "p99": p99}})


if __name__ == "__main__":
    main()
