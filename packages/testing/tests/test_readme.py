"""The README's code: it compiles, its worked example is the real one, its recipes run."""

from __future__ import annotations

import asyncio
import inspect
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from asgi_lifecycle import Lifespan, LifespanContext
from asgi_lifecycle_testing import LifecycleContract, LifecycleRecorder, ReferenceHarness

README = Path(__file__).parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL)


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_python_blocks_compile(block: str) -> None:
    """Every Python block of the README is valid Python."""
    compile(block, str(README), "exec")


def test_reference_harness_shown_is_the_real_one() -> None:
    """The reference harness the README shows is, line for line, the one the suite runs."""
    shown = next(b for b in BLOCKS if "class ReferenceHarness" in b)
    body = shown.split("-> ASGIApp:\n", 1)[1]
    real = textwrap.dedent(inspect.getsource(ReferenceHarness.make_app))
    real_body = real.split('"""', 2)[2]  # after the docstring
    assert textwrap.dedent(real_body).strip() == textwrap.dedent(body).strip()


def test_recorder_recipe_runs() -> None:
    """The README's recorder recipe passes as written."""
    recipe = next(b for b in BLOCKS if "lifecycle_recorder.outcomes" in b)
    namespace: dict[str, Any] = {"LifespanContext": LifespanContext}
    exec(recipe, namespace)
    recorder = LifecycleRecorder()
    asyncio.run(namespace["test_flush_runs"](recorder.watch(Lifespan()), recorder))


def test_contract_tests_are_all_listed() -> None:
    """The README lists every test of the contract, and no other."""
    section = README.read_text().split("## The contract's tests", 1)[1].split("##", 1)[0]
    listed = set(re.findall(r"`(test_[a-z_]+)`", section))
    assert listed == {name for name in dir(LifecycleContract) if name.startswith("test_")}
