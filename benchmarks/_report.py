"""Shared output for benchmarks: a table for the person running them, a JSON file for comparing runs later.

Results only mean something next to the machine that produced them, so every JSON file carries it.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print rows under a title: the first column labels a row, the others (figures) are right-aligned.

    Uses rich, falling back to plain text where it is missing. Cells are shown literally, never as markup.
    """
    cells = [[str(cell) for cell in row] for row in rows]
    try:
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text
    except ImportError:
        _print_plain(title, columns, cells)
        return
    table = Table(title=title, title_justify="left")
    for index, column in enumerate(columns):
        table.add_column(column, justify="left" if index == 0 else "right")
    for row in cells:
        table.add_row(*(Text(cell) for cell in row))
    console = Console()
    if not console.is_terminal:  # piped or captured: rich would assume 80 columns and fold the table
        console.width = max(console.width, console.measure(table, options=console.options.update_width(1_000)).maximum)
    console.print(table)


def _print_plain(title: str, columns: Sequence[str], cells: Sequence[Sequence[str]]) -> None:
    widths = [max(len(text) for text in (column, *(row[i] for row in cells))) for i, column in enumerate(columns)]
    print(title)
    for row in (columns, *cells):
        print(
            "  ".join(
                cell.ljust(width) if i == 0 else cell.rjust(width)
                for i, (cell, width) in enumerate(zip(row, widths, strict=True))
            )
        )


def machine_info() -> dict[str, Any]:
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "cpu_count": os.cpu_count(),
    }


def write_json(path: str | Path, payload: Mapping[str, Any]) -> Path:
    """Write ``payload`` with the machine and the time it ran on, creating the folder; returns the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    document = {
        **payload,
        "machine": machine_info(),
        "created_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    target.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return target
