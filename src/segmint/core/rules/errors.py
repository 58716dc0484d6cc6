"""Errors of the rule language. Each names the line and column it is about, so an editor, the CLI and
the API can point at the exact spot, and carries the same facts as machine-readable ``detail``."""

from __future__ import annotations

from segmint.errors import SegmintError

__all__ = ["RuleCycleError", "RuleError", "RuleSyntaxError", "RuleTypeError"]


class RuleError(SegmintError):
    """A rule that cannot be used. ``line``/``column`` are 1-based (0 when no position is known)."""

    kind = "error"

    def __init__(self, message: str, line: int = 0, column: int = 0) -> None:
        where = f"line {line}, column {column}: " if line else ""
        super().__init__(
            f"{self.kind}: {where}{message}",
            detail={"line": line, "column": column, "reason": message},
        )
        self.reason = message
        self.line = line
        self.column = column


class RuleSyntaxError(RuleError):
    """The text does not follow the grammar."""

    kind = "syntax error"


class RuleTypeError(RuleError):
    """The text parses but names something unknown or compares things that do not fit."""

    kind = "type error"


class RuleCycleError(RuleError):
    """Segments that (through ``in_segment``) depend on themselves."""

    kind = "cycle"
