"""Citations in code and docs point into the repository's own ``docs/``.

Every ``docs/<name>.md`` mentioned must exist, and every section it is cited by
(``docs/providers.md §1.5``, ``§1.2–§1.4``, ``§6.1-6.2``) must be a numbered heading there.
A reference document that is not in the repository must not be cited at all.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("src", "tests", "bench", "docs", "README.md")
TEXT_SUFFIXES = frozenset({".py", ".md", ".toml", ".txt", ".html", ".js", ".css", ".sh"})

_SECTION = r"\d+(?:\.\d+)*"
# "docs/" at a word boundary or after "../" (a link from bench/), never "other/docs/".
_IN_REPO_DOCS = r"(?:(?<=\.\./)|(?<![\w./-]))docs/"
# A cited file and the section references right after it: "§1.2–§1.4, §1.6", "§6.1-6.2".
CITATION = re.compile(
    rf"{_IN_REPO_DOCS}(?P<name>[\w-]+\.md)(?P<sections>\s?§\s?{_SECTION}"
    rf"(?:\s?(?:[-–]|,\s?)\s?§?\s?{_SECTION})*)?"
)
SECTION = re.compile(_SECTION)
HEADING = re.compile(rf"^#{{1,6}}\s+(?P<number>{_SECTION})\.?\s", re.MULTILINE)
# Names of the reference documents that lived outside the repository; the last
# alternative is written so that this file does not match it.
OUTSIDE = re.compile(
    r"(?<![\w-])(?P<name>(?i:providers|architecture|http2-clients|style)\.md)|\bARCHITECTUR[E]\b"
)
IN_REPO_DOCS_BEFORE = re.compile(rf"{_IN_REPO_DOCS}$")
# A relative Markdown link inside docs/, e.g. "[the wire facts](<name>.md#section)".
MARKDOWN_LINK = re.compile(r"\]\((?P<target>[\w-]+\.md)(?:#[\w-]*)?\)")


def _scanned_files() -> list[Path]:
    files: list[Path] = []
    for name in SCANNED:
        path = ROOT / name
        if path.is_file():
            files.append(path)
            continue
        files.extend(
            p
            for p in sorted(path.rglob("*"))
            if p.is_file() and p.suffix in TEXT_SUFFIXES and ".venv" not in p.parts
        )
    return files


def _headings(name: str) -> set[str]:
    return {m["number"] for m in HEADING.finditer((ROOT / "docs" / name).read_text())}


def _relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_every_cited_doc_and_section_exists() -> None:
    problems: list[str] = []
    for path in _scanned_files():
        for match in CITATION.finditer(path.read_text()):
            name = match["name"]
            if not (ROOT / "docs" / name).is_file():
                problems.append(f"{_relative(path)}: docs/{name} does not exist")
                continue
            known = _headings(name)
            for number in SECTION.findall(match["sections"] or ""):
                if number not in known:
                    problems.append(f"{_relative(path)}: docs/{name} has no section {number}")
    assert problems == []


def test_links_between_docs_resolve() -> None:
    problems = [
        f"{_relative(path)}: {m['target']}"
        for path in sorted((ROOT / "docs").glob("*.md"))
        for m in MARKDOWN_LINK.finditer(path.read_text())
        if not (path.parent / m["target"]).is_file()
    ]
    assert problems == []


def test_no_citation_of_a_document_outside_the_repository() -> None:
    problems: list[str] = []
    for path in _scanned_files():
        text = path.read_text()
        for match in OUTSIDE.finditer(text):
            if _is_in_repository(text, match, path):
                continue
            line = text.count("\n", 0, match.start()) + 1
            problems.append(f"{_relative(path)}:{line}: {match[0]}")
    assert problems == []


def _is_in_repository(text: str, match: re.Match[str], path: Path) -> bool:
    """``docs/<name>`` that exists, or, inside docs/, a sibling file named bare."""
    name = match["name"]
    if name is None:
        return False
    if IN_REPO_DOCS_BEFORE.search(text, 0, match.start()):
        return (ROOT / "docs" / name).is_file()
    return path.parent == ROOT / "docs" and (path.parent / name).is_file()
