"""Output every remote command shares: tables, JSON lines, the next page's cursor."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from rich.console import Console, RenderableType
from rich.table import Table

from pushgate.cli.runtime import console


def json_lines(items: Iterable[object]) -> None:
    """One JSON object a line, as the API gave it. Plain ``print``: a terminal-width
    renderer would wrap long lines."""
    for item in items:
        print(json.dumps(item, separators=(",", ":")))


def json_document(item: object) -> None:
    print(json.dumps(item, indent=2))


def table(columns: Iterable[str], rows: Iterable[Iterable[object]], **options: Any) -> None:
    """A table; ``None`` shows as an empty cell."""
    shown = Table(*columns, **options)
    for row in rows:
        shown.add_row(*("" if cell is None else str(cell) for cell in row))
    whole(shown)


def whole(renderable: RenderableType) -> None:
    """On a terminal, fitted to its width; into a pipe or a file, as wide as it needs, so
    no id is cut short for the script that reads it."""
    if console.is_terminal:
        console.print(renderable)
        return
    needed = console.measure(renderable, options=console.options.update_width(10_000))
    # A console prints no wider than its own width, so a wider one prints this table.
    Console(file=console.file, width=max(needed.maximum, console.width)).print(renderable)


def more(page: Mapping[str, Any]) -> None:
    """The cursor for the next page, when the API says there is one."""
    if page.get("next"):
        console.print(f"more: --after {page['next']}")


def rate(limit: Mapping[str, Any] | None) -> str:
    """A rate limit as the API shows it, in a word."""
    return "" if limit is None else f"{limit['per_second']:g}/s burst {limit['burst']}"
