"""MkDocs hooks: links into the repository from included files point at the site's pages.

The guides include each package's README (include-markdown rewrites its relative links
to be relative to the including page). A link to a package folder or its README, such
as `../core`, then points at a folder of the repository that the site does not have:
it is pointed at that package's page here. Any other link outside the docs stays as it
is, and `mkdocs build --strict` reports it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = {
    ROOT / "README.md": "index.md",
    ROOT / "packages" / "core": "concepts.md",
    ROOT / "packages" / "testing": "testing.md",
    ROOT / "packages" / "django": "guides/django.md",
    ROOT / "packages" / "fastapi": "guides/fastapi.md",
    ROOT / "packages" / "celery": "guides/celery.md",
    ROOT / "packages" / "litestar": "guides/litestar.md",
}
# Files of the repository the site serves too, under a path of its own.
ASSETS = {ROOT / "benchmarks" / "results" / "results.png": "assets/benchmarks.png"}
_LINK = re.compile(r"\]\((?P<target>(?:\.\./)+[^)#\s]*)(?P<anchor>#[^)\s]*)?\)")


def _page_for(target: Path) -> str | None:
    if target in ASSETS:
        return ASSETS[target]
    if target.name == "README.md" and target.parent in PAGES:
        target = target.parent
    return PAGES.get(target)


def on_files(files: Any, config: Any, **kwargs: Any) -> Any:
    """Add the repository files the site serves (the benchmark chart) to the site's files."""
    from mkdocs.structure.files import File

    for source, uri in ASSETS.items():
        files.append(File.generated(config, uri, abs_src_path=str(source)))
    return files


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    """Point links to package folders and READMEs at the package's page of the site."""
    here = (DOCS / page.file.src_uri).parent

    def replace(match: re.Match[str]) -> str:
        target = Path(os.path.normpath(here / match["target"]))
        page_uri = _page_for(target)
        if page_uri is None:
            return match[0]
        link = os.path.relpath(DOCS / page_uri, here)
        return f"]({link}{match['anchor'] or ''})"

    return _LINK.sub(replace, markdown)
