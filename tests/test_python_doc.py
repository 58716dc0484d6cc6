"""docs/python.md runs: its ```python blocks are executed in order, in one namespace, in a fresh folder,
so the guide cannot drift from what the Python API does. A block fenced as ```python no-test is shown
to readers and skipped here (say in the text why it cannot run)."""

from __future__ import annotations

import re
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "python.md"
FENCE = re.compile(r"^```python(?P<flags>[^\n`]*)\n(?P<code>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
SKIP_FLAG = "no-test"


@dataclass(frozen=True)
class Block:
    number: int  # 1-based, counting every python block of the page
    line: int  # line of the first code line in the page
    code: str
    runs: bool


def blocks(text: str) -> list[Block]:
    out = []
    for number, match in enumerate(FENCE.finditer(text), start=1):
        flags = match.group("flags").split()
        unknown = set(flags) - {SKIP_FLAG}
        if unknown:
            raise ValueError(f"python block {number}: unknown fence flags {sorted(unknown)}")
        line = text.count("\n", 0, match.start("code")) + 1
        out.append(Block(number, line, match.group("code"), SKIP_FLAG not in flags))
    return out


def test_the_page_has_runnable_examples_and_marks_the_others():
    found = blocks(DOC.read_text(encoding="utf-8"))
    assert sum(b.runs for b in found) >= 15
    assert [b.number for b in found if not b.runs] == [2]  # the Spark example: needs Java


def test_every_example_in_docs_python_md_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SEGMINT_WORKSPACE", raising=False)
    namespace: dict = {"__name__": "docs_python_md"}
    try:
        for block in blocks(DOC.read_text(encoding="utf-8")):
            if not block.runs:
                continue
            # Padding the code to its line in the page makes a traceback point at the page's line.
            code = compile("\n" * (block.line - 1) + block.code, str(DOC), "exec")
            try:
                exec(code, namespace)
            except Exception as exc:
                pytest.fail(
                    f"docs/python.md block {block.number} (line {block.line}) failed: "
                    f"{type(exc).__name__}: {exc}\n\n{traceback.format_exc()}",
                    pytrace=False,
                )
    finally:
        import segmint

        for value in namespace.values():  # a failed block leaves workspaces open
            if isinstance(value, segmint.Workspace):
                value.close()
