"""The repository's Markdown describes itself: every relative link resolves to a file or folder of
the checkout, and no document or module points at documents outside it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SKIPPED_DIRS = {".venv", ".git", ".run", "node_modules", "results"}
# [text](target) with a target that is not a URL, a mail address or an in-page anchor.
LINK = re.compile(r"\[[^\]]*\]\((?!https?://|mailto:|#)([^)\s]+)\)")
# Places outside the checkout that documents were once written from.
OUTSIDE = re.compile(r"/work/|provider-contracts\.md|\.\./seeds/|\.\./\.\./shared/")


def _files(*suffixes: str) -> list[Path]:
    return sorted(
        path
        for path in ROOT.rglob("*")
        if path.suffix in suffixes and path.is_file() and not SKIPPED_DIRS & set(path.relative_to(ROOT).parts)
    )


def test_every_relative_markdown_link_resolves() -> None:
    documents = _files(".md")
    broken = [
        f"{path.relative_to(ROOT)}: {target}"
        for path in documents
        for target in LINK.findall(path.read_text())
        if not (path.parent / target.split("#", 1)[0]).exists()
    ]

    assert len(documents) > 5
    assert broken == []


def test_provider_pages_are_linked_from_the_index() -> None:
    index = (ROOT / "docs" / "providers.md").read_text()
    pages = sorted((ROOT / "channels_app" / "providers").glob("*/README.md"))

    assert len(pages) == 5
    assert [p for p in pages if f"../{p.relative_to(ROOT)}" not in index] == []


def test_nothing_points_at_documents_outside_the_repository() -> None:
    outside = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in _files(".md", ".py", ".toml", ".yml")
        if path != Path(__file__).resolve()
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1)
        if OUTSIDE.search(line)
    ]

    assert outside == []
