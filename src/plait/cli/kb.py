"""``plait kb`` (knowledge bases) and ``plait eval retrieval``: thin commands over plait.knowledge."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn
from rich.table import Table

from plait.knowledge.config import ChunkingConfig, KnowledgeBaseConfig, RetrievalConfig
from plait.knowledge.errors import KnowledgeError
from plait.knowledge.library import KnowledgeLibrary
from plait.knowledge.manifest import DocumentRecord
from plait.schema import PlaitError

kb_app = typer.Typer(help="Knowledge bases: create, add documents, search.", no_args_is_help=True)
eval_app = typer.Typer(help="Evaluations on public data.", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True, soft_wrap=True)


def _run(work: Any) -> Any:
    try:
        return asyncio.run(work)
    except (KnowledgeError, PlaitError) as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None


@kb_app.command("create")
def create(
    name: str,
    description: str = typer.Option("", help="What the knowledge base holds."),
    chunk_size: int = typer.Option(256, help="Chunk size in tokens."),
    chunk_overlap: int = typer.Option(32, help="Overlap between chunks in tokens."),
    strategy: str = typer.Option("auto", help="auto, recursive, markdown, sentence, parent_child or none."),
    mode: str = typer.Option("hybrid", help="Default search mode: keyword, vector or hybrid."),
) -> None:
    """Create an empty knowledge base."""

    async def work() -> None:
        config = KnowledgeBaseConfig(
            name=name,
            description=description,
            chunking=ChunkingConfig(strategy=strategy, chunk_size=chunk_size, chunk_overlap=chunk_overlap),  # type: ignore[arg-type]
            retrieval=RetrievalConfig(mode=mode),  # type: ignore[arg-type]
        )
        base = await KnowledgeLibrary().create(config)
        await base.close()
        console.print(f"created knowledge base [bold]{name}[/bold] in {base.root}")

    _run(work())


@kb_app.command("list")
def list_bases() -> None:
    """List knowledge bases."""
    for name in KnowledgeLibrary().names():
        console.print(name)


@kb_app.command("add")
def add(name: str, paths: list[Path]) -> None:
    """Add files to a knowledge base, with a progress bar per document."""

    async def work() -> list[DocumentRecord]:
        base = await KnowledgeLibrary().open(name)
        try:
            with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[status]}")) as bars:
                tasks: dict[str, TaskID] = {}

                def progress(record: DocumentRecord) -> None:
                    if record.id not in tasks:
                        tasks[record.id] = bars.add_task(record.name, total=1.0, status=record.status)
                    bars.update(tasks[record.id], completed=record.progress, status=record.status)

                return await base.add_files(paths, on_progress=progress)
        finally:
            await base.close()

    records = _run(work())
    failed = [r for r in records if r.status == "failed"]
    for record in failed:
        err_console.print(f"[red]failed[/red] {record.name}: {record.error}")
    console.print(f"{len(records) - len(failed)} ready, {len(failed)} failed")
    if failed:
        raise typer.Exit(1)


@kb_app.command("docs")
def docs(name: str) -> None:
    """Show a knowledge base's documents and their status."""

    async def work() -> list[DocumentRecord]:
        base = await KnowledgeLibrary().open(name)
        try:
            return await base.documents()
        finally:
            await base.close()

    table = Table("id", "name", "status", "chunks", "error")
    for record in _run(work()):
        table.add_row(record.id, record.name, record.status, str(record.chunk_count), record.error)
    console.print(table)


@kb_app.command("search")
def search(
    name: str,
    query: str,
    mode: str | None = typer.Option(None, help="keyword, vector or hybrid (default: the base's)."),
    top_k: int = typer.Option(5, help="How many chunks to show."),
) -> None:
    """Search a knowledge base."""

    async def work() -> list[Any]:
        base = await KnowledgeLibrary().open(name)
        try:
            return await base.search(query, mode=mode, top_k=top_k)  # type: ignore[arg-type]
        finally:
            await base.close()

    for rank, document in enumerate(_run(work()), start=1):
        console.print(
            f"[bold]{rank}.[/bold] {document.metadata.get('document_name', '')} [dim]score {document.score:.4f}[/dim]"
        )
        console.print(document.content.strip()[:400], markup=False)


@kb_app.command("drop")
def drop(name: str) -> None:
    """Delete a knowledge base and its indexes."""
    _run(KnowledgeLibrary().drop(name))
    console.print(f"dropped {name}")


@eval_app.command("retrieval")
def retrieval(
    dataset: Path = typer.Option(..., help="A BEIR-style folder (corpus, queries_<split>.jsonl, qrels/<split>.tsv)."),
    split: str = typer.Option("test", help="Which queries and judgements to use."),
    mode: str = typer.Option("hybrid", help="bm25, vector or hybrid."),
    fusion: str = typer.Option("weighted", help="Hybrid fusion: rrf or weighted."),
    weights: str = typer.Option("0.7,0.3", help="Weighted fusion: keyword,vector."),
    limit: int | None = typer.Option(None, help="Evaluate only the first N queries."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """nDCG@10, Recall@100, MRR@10, query latency and indexing speed of one retrieval mode."""
    from plait.datadir import data_dir
    from plait.knowledge.eval_run import evaluate_retrieval

    if mode not in ("bm25", "vector", "hybrid"):
        err_console.print("[red]error:[/red] --mode is bm25, vector or hybrid")
        raise typer.Exit(2)
    try:
        keyword_weight, vector_weight = (float(w) for w in weights.split(","))
    except ValueError:
        err_console.print("[red]error:[/red] --weights takes two numbers, e.g. 0.6,0.4")
        raise typer.Exit(2) from None
    report = _run(
        evaluate_retrieval(
            dataset,
            split=split,
            mode=mode,  # type: ignore[arg-type]
            fusion=fusion,  # type: ignore[arg-type]
            weights=(keyword_weight, vector_weight),
            cache_dir=data_dir("cache", "eval-embeddings"),
            limit=limit,
        )
    )
    if as_json:
        console.print_json(json.dumps(report.as_dict()))
        return
    table = Table("metric", "value", title=f"{report.dataset} {report.split} · {report.mode}")
    for label, value in (
        ("nDCG@10", f"{report.ndcg_at_10:.4f}"),
        ("Recall@100", f"{report.recall_at_100:.4f}"),
        ("MRR@10", f"{report.mrr_at_10:.4f}"),
        ("query p50 (ms)", f"{report.latency_p50_ms:.2f}"),
        ("query p95 (ms)", f"{report.latency_p95_ms:.2f}"),
        (
            "indexing (docs/s)",
            f"{report.documents_per_second:.1f}" + (" (vectors cached)" if report.embeddings_cached else ""),
        ),
        ("queries / documents", f"{report.queries} / {report.documents}"),
    ):
        table.add_row(label, value)
    console.print(table)
