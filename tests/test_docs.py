"""Every code block of the documentation runs, so that none of them can rot.

How a ```python block of `docs/**/*.md` is tested depends on how it is marked:

- a plain block is a script: it runs in a fresh interpreter (so with its own
  process-wide `lifespan`), as `__main__`, with tracebacks pointing at the Markdown
  file and line;
- a block with `title="some/module.py"` is a file: every titled block of a page is
  written into one directory (the page's project) before any block of that page runs,
  so that other blocks import it; each is also imported on its own (or run, if its
  name is no module name, such as `gunicorn.conf.py`), so it runs even if nothing
  imports it;
- a block titled `test_*.py` is a test module: pytest runs it in the page's project,
  with the asgi-lifecycle-testing plugin, as in a user's project;
- a block right after `<!-- docs-test: compile-only: <reason> -->` cannot run here
  (old code shown for comparison, code needing another service): it is compiled, and
  the reason is required.

A ```console block right after `<!-- docs-test: run -->` is run in the page's project:
each `$ python ...` or `$ pytest ...` line runs (with `NAME=value` prefixes as its
environment), and the lines under it are its expected output, line by line (a shown
line may stop early: `1 passed` stands for `1 passed in 0.20s`).

Package READMEs that pages include (`{% include-markdown %}`) are checked too: their
Python blocks are compiled (each package's own tests run its README's recipes).
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
TIMEOUT = 120.0
ALLOWED_LANGUAGES = {"python", "console", "text", "yaml", "toml", "ini", "dockerfile", "json"}
MARKERS = {"python": {"compile-only"}, "console": {"run"}}

_FENCE = re.compile(
    r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<lang>[^\s`{]*)(?P<rest>.*)$"
)
_MARKER = re.compile(
    r"^\s*<!--\s*docs-test:\s*(?P<kind>[\w-]+)(?:\s*:\s*(?P<reason>.*?))?\s*-->\s*$"
)
_ATTRIBUTE = re.compile(r'(?P<key>\w+)="(?P<value>[^"]*)"')
_INCLUDE = re.compile(r"\{%\s*include-markdown\s+(?P<args>.*?)%\}", re.DOTALL)
_QUOTED = re.compile(r'(?:(?P<key>\w+)=)?"(?P<value>[^"]*)"')

# Runs one script block as a fresh __main__ module (Django's ROOT_URLCONF = __name__
# must find it), compiled under the Markdown file's name and padded so that line
# numbers in a traceback are the Markdown file's own.
_BOOTSTRAP = """
import sys, types
source_file, label, first_line = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(source_file, encoding="utf-8") as handle:
    source = "\\n" * (first_line - 1) + handle.read()
sys.argv = [label]
main = sys.modules["__main__"] = types.ModuleType("__main__")
main.__file__ = label
exec(compile(source, label, "exec"), main.__dict__)
"""


@dataclass(frozen=True)
class Fence:
    """One fenced code block of a Markdown file."""

    path: Path
    line: int  # line number of the first line of code (1-based)
    lang: str
    attributes: dict[str, str]
    raw_attributes: str
    code: str
    marker: str | None
    reason: str | None

    @property
    def label(self) -> str:
        """Where the block is, relative to the repository."""
        path = self.path
        return f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}:{self.line}"


@dataclass(frozen=True)
class Block:
    """One Python block to test, and how."""

    page: Path  # the docs page it belongs to (for a README block: the page including it)
    fence: Fence

    @property
    def kind(self) -> str:
        """`script`, `file`, `pytest` or `compile`."""
        if self.fence.marker == "compile-only" or self.page != self.fence.path:
            return "compile"
        title = self.fence.attributes.get("title")
        if title is None:
            return "script"
        return "pytest" if Path(title).name.startswith("test_") else "file"

    @property
    def label(self) -> str:
        """Where the block is, relative to the repository."""
        return self.fence.label


def parse_fences(path: Path, text: str | None = None, first_line: int = 1) -> list[Fence]:
    """Return every fenced code block of a Markdown text, indented ones included."""
    if text is None:
        text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    fences: list[Fence] = []
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        indent = len(opening["indent"].expandtabs(4))
        fence = opening["fence"]
        closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        body: list[str] = []
        end = index + 1
        while end < len(lines) and not closing.match(lines[end]):
            body.append(lines[end])
            end += 1
        if end == len(lines):
            raise AssertionError(f"{path}:{first_line + index}: a code fence is never closed")
        marker = reason = None
        previous = index - 1
        while previous >= 0 and not lines[previous].strip():
            previous -= 1
        if previous >= 0 and (found := _MARKER.match(lines[previous])):
            marker, reason = found["kind"], found["reason"]
        dedented = [line[indent:] if line[:indent].strip() == "" else line for line in body]
        fences.append(
            Fence(
                path=path,
                line=first_line + index + 1,
                lang=opening["lang"],
                attributes=dict(_ATTRIBUTE.findall(opening["rest"])),
                raw_attributes=opening["rest"].strip(),
                code="\n".join(dedented) + "\n",
                marker=marker,
                reason=reason,
            )
        )
        index = end + 1
    return fences


def included_fences(page: Path) -> list[Fence]:
    """Return the fences of what a page includes with include-markdown (start/end honoured)."""
    fences: list[Fence] = []
    for include in _INCLUDE.finditer(page.read_text(encoding="utf-8")):
        paths: list[str] = []
        options: dict[str, str] = {}
        for found in _QUOTED.finditer(include["args"]):
            if found["key"] is None:
                paths.append(found["value"])
            else:
                options[found["key"]] = found["value"]
        source = (page.parent / paths[0]).resolve()
        text = source.read_text(encoding="utf-8")
        first = 0
        if "start" in options:
            assert options["start"] in text, f"{page}: start={options['start']!r} not found"
            first = text.index(options["start"]) + len(options["start"])
        last = len(text)
        if "end" in options:
            assert options["end"] in text[first:], f"{page}: end={options['end']!r} not found"
            last = text.index(options["end"], first)
        fences.extend(parse_fences(source, text[first:last], text[:first].count("\n") + 1))
    return fences


def collect(docs: Path) -> list[Block]:
    """Return every Python block of the pages under `docs`, and of what they include."""
    blocks: list[Block] = []
    for page in sorted(docs.rglob("*.md")):
        fences = [*parse_fences(page), *included_fences(page)]
        blocks.extend(Block(page, fence) for fence in fences if fence.lang == "python")
    return blocks


def write_files(page: Path, blocks: list[Block], directory: Path) -> None:
    """Write the titled blocks of one page into `directory`, as the files they name."""
    for block in blocks:
        if block.page != page or block.kind not in ("file", "pytest"):
            continue
        target = directory / block.fence.attributes["title"]
        if target.exists():
            raise AssertionError(f"{block.label}: a second block titled {target.name!r}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(block.fence.code, encoding="utf-8")


def environment(directory: Path, **extra: str) -> dict[str, str]:
    """The environment of a block's interpreter: its page's files importable, defaults clean."""
    # What other tests of the session may have set must not reach a reader's example.
    ignored = ("ASGI_LIFECYCLE", "DJANGO_SETTINGS_MODULE")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ignored)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(directory), env.get("PYTHONPATH")]))
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def command(block: Block, directory: Path) -> list[str]:
    """The command line that runs one block (not for compile-only blocks)."""
    python = [sys.executable, "-W", "error"]
    title = block.fence.attributes.get("title", "")
    if block.kind == "script":
        source = directory / f"_block_{block.fence.line}.py"
        source.write_text(block.fence.code, encoding="utf-8")
        return [*python, "-c", _BOOTSTRAP, str(source), block.label, str(block.fence.line)]
    if block.kind == "file":
        parts = title.removesuffix(".py").split("/")
        if not all(part.isidentifier() for part in parts):  # gunicorn.conf.py: run it
            return [*python, "-c", f"import runpy; runpy.run_path({title!r})"]
        module = ".".join(parts).removesuffix(".__init__")
        return [*python, "-c", f"import importlib; importlib.import_module({module!r})"]
    return [*python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error", title]


def run(
    label: str, argv: list[str], directory: Path, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run a command in a page's project, bounded in time; fail with its output."""
    try:
        result = subprocess.run(
            argv,
            cwd=directory,
            env=environment(directory, **env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
    except subprocess.TimeoutExpired as exc:  # subprocess.run has killed it
        raise AssertionError(f"{label} ran over {TIMEOUT} s") from exc
    if result.returncode != 0:
        output = textwrap.indent((result.stdout + result.stderr).strip(), "    ")
        raise AssertionError(f"{label} failed with status {result.returncode}:\n{output}")
    return result


def compile_block(block: Block) -> None:
    """Compile a block that cannot run here; it must say why."""
    if block.page == block.fence.path and not block.fence.reason:
        raise AssertionError(
            f"{block.label}: 'docs-test: compile-only' needs a reason after a colon"
        )
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    compile(block.fence.code, block.label, "exec", flags=flags, dont_inherit=True)


def check(block: Block, directory: Path) -> None:
    """Run (or compile) one block; raise AssertionError with its output if it fails."""
    if block.kind == "compile":
        compile_block(block)
    else:
        run(f"{block.label} ({block.kind})", command(block, directory), directory)


def check_console(fence: Fence, directory: Path) -> None:
    """Run the commands of a console block; each must print the lines shown under it."""
    steps: list[tuple[str, list[str]]] = []
    for line in fence.code.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif steps:
            steps[-1][1].append(line)
        elif line.strip():
            raise AssertionError(f"{fence.label}: output before any '$ ' command: {line!r}")
    assert steps, f"{fence.label}: a console block to run has no '$ ' command"
    for text, expected in steps:
        words = shlex.split(text)
        env = {}
        while words and re.fullmatch(r"\w+=.*", words[0]):
            name, value = words.pop(0).split("=", 1)
            env[name] = value
        if words[:1] == ["python"]:
            argv = [sys.executable, *words[1:]]
        elif words[:1] == ["pytest"]:
            argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *words[1:]]
        else:
            raise AssertionError(f"{fence.label}: only python and pytest can run: {text!r}")
        result = run(f"{fence.label} ({text})", argv, directory, **env)
        printed = (result.stdout + result.stderr).splitlines()
        shown = [line.rstrip() for line in expected]
        matches = len(printed) == len(shown) and all(
            line.startswith(prefix) for line, prefix in zip(printed, shown, strict=True)
        )
        assert matches, f"{fence.label}: {text!r} printed\n" + "\n".join(printed)


BLOCKS = collect(DOCS)
CONSOLES = [
    fence
    for page in sorted(DOCS.rglob("*.md"))
    for fence in parse_fences(page)
    if fence.lang == "console" and fence.marker == "run"
]


@pytest.fixture(scope="module")
def page_directories(tmp_path_factory: pytest.TempPathFactory) -> dict[Path, Path]:
    """One directory per page: its project, holding the files its titled blocks define."""
    directories: dict[Path, Path] = {}
    for page in sorted(DOCS.rglob("*.md")):
        name = str(page.relative_to(DOCS)).replace("/", "-").removesuffix(".md")
        directory = tmp_path_factory.mktemp(name)
        write_files(page, BLOCKS, directory)
        directories[page] = directory
    return directories


@pytest.mark.parametrize("block", BLOCKS, ids=[f"{b.label}-{b.kind}" for b in BLOCKS])
def test_block(block: Block, page_directories: dict[Path, Path]) -> None:
    """A Python block of the documentation runs (or, when marked, compiles) without error."""
    check(block, page_directories[block.page])


@pytest.mark.parametrize("fence", CONSOLES, ids=[fence.label for fence in CONSOLES])
def test_console(fence: Fence, page_directories: dict[Path, Path]) -> None:
    """A console block marked to run prints what the page shows."""
    check_console(fence, page_directories[fence.path])


def test_getting_started_web_process(page_directories: dict[Path, Path]) -> None:
    """The web process of the getting-started page serves under uvicorn and runs its hooks."""
    page = DOCS / "getting-started.md"
    directory = page_directories[page]
    shown = "".join(fence.code for fence in parse_fences(page) if fence.lang != "python")
    expected = [line for line in shown.splitlines() if line.startswith("[api]")]
    assert expected, "the page shows no [api] line of the web process"
    argv = [sys.executable, "-m", "uvicorn", "myservice.web:app", "--host", "127.0.0.1"]
    server = subprocess.Popen(
        [*argv, "--port", "0"],
        cwd=directory,
        env=environment(directory),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert server.stdout is not None
    lines: list[str] = []
    try:
        deadline = time.monotonic() + TIMEOUT
        url = None
        while url is None and time.monotonic() < deadline and server.poll() is None:
            line = server.stdout.readline()  # uvicorn prints the address once it serves
            lines.append(line.rstrip())
            if found := re.search(r"running on (http://\S+)", line):
                url = found[1]
        assert url is not None, "uvicorn did not start:\n" + "\n".join(lines)
        with urllib.request.urlopen(url + "/", timeout=10) as response:
            assert response.status == 200
            assert response.read().startswith(b'{"sqlite":"3.')
        server.send_signal(signal.SIGINT)
        output, _ = server.communicate(timeout=TIMEOUT)
        lines.extend(output.splitlines())
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()
    assert [line for line in lines if line.startswith("[api]")] == expected, "\n".join(lines)


def test_blocks_are_found() -> None:
    """The pages have blocks of every kind, so the collection cannot silently vanish."""
    kinds = {block.kind for block in BLOCKS}
    assert kinds == {"script", "file", "pytest", "compile"}, kinds
    assert sum(block.kind == "script" for block in BLOCKS) >= 20
    assert CONSOLES


def test_every_fence_is_declared() -> None:
    """Every code fence names a known language, so no Python hides from the tests."""
    problems = []
    for page in sorted(DOCS.rglob("*.md")):
        for fence in parse_fences(page):
            if fence.lang not in ALLOWED_LANGUAGES:
                problems.append(f"{fence.label}: fence language {fence.lang!r}")
            elif fence.lang == "python" and set(fence.attributes) - {"title"}:
                problems.append(f"{fence.label}: unknown attributes {fence.raw_attributes!r}")
            if fence.marker and fence.marker not in MARKERS.get(fence.lang, ()):
                problems.append(f"{fence.label}: 'docs-test: {fence.marker}' on {fence.lang}")
    assert not problems, "\n".join(problems)


BROKEN_PAGE = """\
# A page

```python title="pkg/broken.py"
raise RuntimeError("a module that breaks")
```

```python
assert 1 + 1 == 3
```

```python title="test_broken.py"
def test_fails():
    assert False
```

<!-- docs-test: compile-only: a fragment -->
```python
def missing_body(:
```

<!-- docs-test: compile-only -->
```python
x = 1
```

```python
print("this one runs")
```

<!-- docs-test: run -->
```console
$ python -c "print('shown')"
not what it printed
```

<!-- docs-test: run -->
```console
$ python -c "print('shown in 0.1s')"
shown
```
"""


def test_a_broken_block_fails(tmp_path: Path) -> None:
    """A block that raises, fails its tests, does not compile or prints otherwise fails."""
    docs = tmp_path / "docs"
    docs.mkdir()
    page = docs / "page.md"
    page.write_text(BROKEN_PAGE, encoding="utf-8")
    blocks = collect(docs)
    directory = tmp_path / "work"
    directory.mkdir()
    write_files(page, blocks, directory)
    assert [b.kind for b in blocks] == ["file", "script", "pytest", "compile", "compile", "script"]
    *broken, fine = blocks
    for block in broken:
        with pytest.raises((AssertionError, SyntaxError)):
            check(block, directory)
    check(fine, directory)
    wrong, right = (f for f in parse_fences(page) if f.marker == "run")
    with pytest.raises(AssertionError, match="printed"):
        check_console(wrong, directory)
    check_console(right, directory)
