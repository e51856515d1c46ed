"""Local embedding throughput: all-MiniLM-L6-v2 on the CPU through ONNX Runtime and through torch
(sentence-transformers), on SciFact: abstracts (title + text, as a knowledge base indexes them; nearly all
reach the 256-token limit) and claims (short, as queries are).

Each backend runs in a fresh process, so its import and load times are what a server start pays, and the
ONNX one can show it never imported torch. The ONNX export is made first if it is missing. On a shared
machine wall time varies with the other work: the best run is reported, with the median and the docs per
CPU-second next to it.

    .venv/bin/python benchmarks/embeddings_throughput.py [--docs 512] [--batch-size 32] [--repeat 2] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import importlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _report import print_table, write_json

SCIFACT = Path(__file__).resolve().parents[2] / "shared" / "data" / "retrieval" / "scifact"
DEFAULT_JSON = Path(__file__).parent / "results" / "embeddings_throughput.json"
LIBRARIES = {"onnx": ("numpy", "onnxruntime", "tokenizers"), "torch": ("sentence_transformers",)}


def texts(kind: str, count: int) -> list[str]:
    """The first ``count`` abstracts (title + text) or claims (test, then train)."""
    if kind == "abstracts":
        with gzip.open(SCIFACT / "corpus.jsonl.gz", "rt", encoding="utf-8") as lines:
            records = [json.loads(line) for _, line in zip(range(count), lines, strict=False)]
        return [f"{record['title']} {record['text']}".strip() for record in records]
    claims = []
    for name in ("queries_test.jsonl", "queries_train.jsonl"):
        with (SCIFACT / name).open(encoding="utf-8") as lines:
            claims.extend(json.loads(line)["text"] for line in lines)
    return claims[:count]


async def measure(backend: str, count: int, batch_size: int, repeat: int) -> dict[str, Any]:
    """One backend in this process: import, load, then each corpus ``repeat`` times after a warm-up."""
    started = time.perf_counter()
    for name in LIBRARIES[backend]:
        importlib.import_module(name)
    imported = time.perf_counter()
    from plait.embeddings import LocalEmbedder

    embedder = LocalEmbedder(backend=backend, batch_size=batch_size)  # type: ignore[arg-type]
    await embedder.load()
    loaded = time.perf_counter()
    result: dict[str, Any] = {"backend": backend, "import_s": imported - started, "load_s": loaded - imported}
    for kind in ("abstracts", "claims"):
        docs = texts(kind, count)
        await embedder.embed(docs[:batch_size])
        runs, cpu = [], []
        for _ in range(repeat):
            start, start_cpu = time.perf_counter(), time.process_time()
            await embedder.embed(docs)
            runs.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        result[kind] = {
            "docs": len(docs),
            "runs_s": runs,
            "docs_per_s": len(docs) / min(runs),
            "docs_per_s_median": len(docs) / statistics.median(runs),
            "docs_per_cpu_s": len(docs) / min(cpu),
        }
    result["torch_imported"] = "torch" in sys.modules
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def run_worker(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    command = [sys.executable, __file__, "--worker", backend, "--docs", str(args.docs)]
    command += ["--batch-size", str(args.batch_size), "--repeat", str(args.repeat)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def mean_tokens(kind: str, count: int) -> float:
    """Tokens per text after truncation, counted with the exported tokenizer."""
    from tokenizers import Tokenizer

    from plait.embeddings.local import MAX_SEQ_LENGTH, default_onnx_dir

    tokenizer = Tokenizer.from_file(str(default_onnx_dir() / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=MAX_SEQ_LENGTH)
    tokenizer.no_padding()  # the saved tokenizer may pad: count real tokens only
    docs = texts(kind, count)
    return sum(len(encoding.ids) for encoding in tokenizer.encode_batch(docs)) / len(docs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    parser.add_argument("--worker", choices=sorted(LIBRARIES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(asyncio.run(measure(args.worker, args.docs, args.batch_size, args.repeat))))
        return
    from plait.embeddings.local import LocalEmbedder

    started = time.perf_counter()
    asyncio.run(LocalEmbedder(backend="onnx").load())  # makes the export when it is missing
    prepared = time.perf_counter() - started
    tokens = {kind: mean_tokens(kind, args.docs) for kind in ("abstracts", "claims")}
    results = [run_worker(backend, args) for backend in ("onnx", "torch")]
    rows = [
        [
            f"{result['backend']} {kind}",
            f"{result['import_s']:.2f}",
            f"{result['load_s']:.2f}",
            f"{result[kind]['docs_per_s']:.1f}",
            f"{result[kind]['docs_per_s_median']:.1f}",
            f"{result[kind]['docs_per_cpu_s']:.1f}",
            f"{result[kind]['docs_per_s'] * tokens[kind]:.0f}",
            f"{result['peak_rss_mb']:.0f}",
            "yes" if result["torch_imported"] else "no",
        ]
        for result in results
        for kind in ("abstracts", "claims")
    ]
    title = (
        f"all-MiniLM-L6-v2, {args.docs} SciFact abstracts ({tokens['abstracts']:.0f} tokens) and claims "
        f"({tokens['claims']:.0f} tokens), batch {args.batch_size}; ONNX export ready in {prepared:.1f}s"
    )
    columns = ["backend, texts", "import s", "load s", "docs/s", "median", "docs/cpu-s", "tokens/s", "RSS MB", "torch?"]
    print_table(title, columns, rows)
    payload = {
        "benchmark": "embeddings_throughput",
        "batch_size": args.batch_size,
        "tokens_per_text": tokens,
        "load_average": os.getloadavg(),  # other work on the machine while it ran
        "results": results,
    }
    print(f"wrote {write_json(args.json, payload)}")


if __name__ == "__main__":
    main()
