"""The documentation holds together: every relative link and image in README.md and docs/*.md
resolves — the file exists and, for ``#anchor`` links into Markdown, the heading exists under
GitHub's slug rule — and the README stays short enough to read in minutes (under 16 KB)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from urllib.parse import unquote

import pytest

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
PAGES = [README, *sorted((REPO / "docs").glob("*.md"))]
README_LIMIT = 16 * 1024
SKIPPED_SCHEMES = ("http://", "https://", "mailto:")

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")
# [text](target) and ![alt](target), the text allowing one level of nested brackets; an optional title.
_INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)")
_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)")
_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_MARKUP_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_NOT_SLUG = re.compile(r"[^\w\- ]")


def prose_lines(text: str) -> list[tuple[int, str]]:
    """Numbered lines outside fenced code blocks (where ``[x](y)`` and ``# x`` are not Markdown)."""
    lines: list[tuple[int, str]] = []
    fence = ""
    for number, line in enumerate(text.splitlines(), start=1):
        opening = _FENCE.match(line)
        if fence:
            if opening and opening.group(1)[0] == fence[0] and len(opening.group(1)) >= len(fence):
                fence = ""
            continue
        if opening:
            fence = opening.group(1)
            continue
        lines.append((number, line))
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text lowercased, punctuation but ``-`` and ``_`` dropped,
    every space a ``-``."""
    text = _MARKUP_LINK.sub(r"\1", heading)
    return _NOT_SLUG.sub("", text.strip().lower()).replace(" ", "-")


@cache
def anchors(page: Path) -> frozenset[str]:
    """Every heading's anchor in ``page``; repeated headings get ``-1``, ``-2``… as on GitHub."""
    seen: dict[str, int] = {}
    found: set[str] = set()
    for _, line in prose_lines(page.read_text(encoding="utf-8")):
        match = _HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return frozenset(found)


def links(page: Path) -> list[tuple[int, str]]:
    """Every link and image target of ``page`` with its line, code spans and fenced code left out."""
    targets: list[tuple[int, str]] = []
    for number, line in prose_lines(page.read_text(encoding="utf-8")):
        prose = _CODE_SPAN.sub("", line)
        found = [m.group(1) for m in _INLINE_LINK.finditer(prose)]
        definition = _DEFINITION.match(prose)
        if definition:
            found.append(definition.group(1))
        targets.extend((number, target.strip("<>")) for target in found)
    return targets


def broken(page: Path, target: str) -> str | None:
    """Why ``target``, linked from ``page``, does not resolve; ``None`` when it does."""
    path_part, _, fragment = target.partition("#")
    destination = (page.parent / unquote(path_part)).resolve() if path_part else page
    if not destination.exists():
        return f"{destination.relative_to(REPO) if destination.is_relative_to(REPO) else destination} does not exist"
    if not fragment:
        return None
    if destination.suffix != ".md":
        return f"#{fragment} points into {destination.name}, which has no headings"
    if unquote(fragment) not in anchors(destination):
        return f"no heading in {destination.relative_to(REPO)} has the anchor #{fragment}"
    return None


def test_pages_are_found() -> None:
    assert README.exists()
    assert len(PAGES) > 1, "docs/*.md holds no page"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(REPO)))
def test_every_relative_link_resolves(page: Path) -> None:
    problems = [
        f"{page.relative_to(REPO)}:{number}: ({target}) {why}"
        for number, target in links(page)
        if not target.startswith(SKIPPED_SCHEMES)
        for why in [broken(page, target)]
        if why is not None
    ]
    assert problems == []


def test_readme_is_under_16_kb() -> None:
    size = len(README.read_bytes())
    assert size < README_LIMIT, f"README.md is {size} bytes; move detail into docs/ to stay under {README_LIMIT}"


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("Access to Airflow (updateacl)", "access-to-airflow-updateacl"),
        ("IAM permissions the service's own role needs", "iam-permissions-the-services-own-role-needs"),
        ("Naming, and one deliberate change", "naming-and-one-deliberate-change"),
        ("The `mwaa-sp` CLI — remote_mode", "the-mwaa-sp-cli--remote_mode"),
        ("See [the glossary](architecture.md#glossary)", "see-the-glossary"),
    ],
)
def test_slug_follows_githubs_rule(heading: str, anchor: str) -> None:
    assert slug(heading) == anchor


def test_links_skip_code(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        '# Title\n\n[a](b.md) and `[c](d.md)` and ![e](f.png "title")\n\n```sh\n[g](h.md)\n# not a heading\n```\n',
        encoding="utf-8",
    )
    assert links(page) == [(3, "b.md"), (3, "f.png")]
    assert anchors(page) == {"title"}
