"""Rule text → tokens, each with its line and column.

Kept separate from the parser so lexical questions (what is a number, a duration, a string, a comment)
have one answer. Keywords are ordinary identifiers here; the parser decides, case-insensitively, which
identifiers are keywords where.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from segmint.core.rules.errors import RuleSyntaxError

__all__ = ["DURATION_UNITS", "Token", "tokenize"]

# Seconds per unit, as in segmint.core.timeutil (mo = 30 days, y = 365 days).
DURATION_UNITS = {
    "s": 1,
    "m": 60,
    "min": 60,
    "h": 3600,
    "d": 86400,
    "w": 604800,
    "mo": 2592000,
    "y": 31536000,
}

_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPS = ("<=", ">=", "!=", "<>", "=", "<", ">")
_PUNCT = {"(": "LPAREN", ")": "RPAREN", ",": "COMMA", ".": "DOT"}


@dataclass(frozen=True)
class Token:
    """``kind`` is one of IDENT, STRING, NUMBER, DURATION, OP, LPAREN, RPAREN, COMMA, DOT, EOF.

    ``value`` is the decoded value: the text of a string, the int/float of a number, the signed seconds
    of a duration (``sign`` keeps whether it was written with ``-``/``+``: relative times need one)."""

    kind: str
    text: str
    value: object
    line: int
    column: int
    sign: str = ""


def tokenize(text: str) -> list[Token]:
    """All tokens of ``text`` followed by an EOF token. Raises RuleSyntaxError on a character or literal
    that cannot start a token."""
    tokens: list[Token] = []
    i, line, line_start = 0, 1, 0
    n = len(text)
    while i < n:
        ch = text[i]
        col = i - line_start + 1
        if ch == "\n":
            i += 1
            line, line_start = line + 1, i
            continue
        if ch in " \t\r":
            i += 1
            continue
        if ch == "#" or text.startswith("--", i):
            while i < n and text[i] != "\n":
                i += 1
            continue
        if ch == "'":
            start = i
            value, i = _read_string(text, i, line, col)
            tokens.append(Token("STRING", text[start:i], value, line, col))
            newlines = text.count("\n", start, i)
            if newlines:  # a text may span lines; keep later positions right
                line, line_start = line + newlines, text.rindex("\n", start, i) + 1
            continue
        if ch.isdigit() or (ch in "+-" and _digit_follows(text, i + 1)):
            token, i = _read_number(text, i, line, col)
            tokens.append(token)
            continue
        word = _WORD.match(text, i)
        if word:
            tokens.append(Token("IDENT", word.group(), word.group(), line, col))
            i = word.end()
            continue
        op = next((o for o in _OPS if text.startswith(o, i)), None)
        if op:
            norm = "!=" if op == "<>" else op
            tokens.append(Token("OP", op, norm, line, col))
            i += len(op)
            continue
        if ch in _PUNCT:
            tokens.append(Token(_PUNCT[ch], ch, ch, line, col))
            i += 1
            continue
        if ch == '"':
            raise RuleSyntaxError("texts are quoted with single quotes: 'like this'", line, col)
        raise RuleSyntaxError(f"unexpected character {ch!r}", line, col)
    tokens.append(Token("EOF", "", None, line, i - line_start + 1))
    return tokens


def _digit_follows(text: str, i: int) -> bool:
    """A sign starts a number when a digit follows, spaces allowed (``today - 1d``)."""
    while i < len(text) and text[i] in " \t":
        i += 1
    return i < len(text) and text[i].isdigit()


def _read_string(text: str, i: int, line: int, col: int) -> tuple[str, int]:
    """A single-quoted string; a quote inside is written twice (``'it''s'``), as in SQL."""
    out: list[str] = []
    j = i + 1
    while j < len(text):
        ch = text[j]
        if ch == "'":
            if j + 1 < len(text) and text[j + 1] == "'":
                out.append("'")
                j += 2
                continue
            return "".join(out), j + 1
        out.append(ch)
        j += 1
    raise RuleSyntaxError("unterminated text: close it with a single quote", line, col)


def _read_number(text: str, i: int, line: int, col: int) -> tuple[Token, int]:
    """A number, or with a unit right after it a duration (``7d``, ``-90d``, ``+12h``)."""
    sign = ""
    start = i
    if text[i] in "+-":
        sign = text[i]
        i += 1
        while text[i] in " \t":
            i += 1
    match = _NUMBER.match(text, i)
    assert match is not None
    i = match.end()
    digits = match.group()
    unit = _WORD.match(text, i)
    if unit:
        name = unit.group()
        if name not in DURATION_UNITS:
            raise RuleSyntaxError(
                f"unknown time unit {name!r} after {digits}: use s, m, h, d, w, mo or y (e.g. 30d)",
                line,
                col,
            )
        seconds = float(digits) * DURATION_UNITS[name]
        if seconds != int(seconds):
            raise RuleSyntaxError(f"duration {digits}{name} is not a whole number of seconds", line, col)
        value = -int(seconds) if sign == "-" else int(seconds)
        end = unit.end()
        return Token("DURATION", text[start:end], value, line, col, sign), end
    number: int | float = float(digits) if "." in digits else int(digits)
    if sign == "-":
        number = -number
    return Token("NUMBER", text[start:i], number, line, col, sign), i
