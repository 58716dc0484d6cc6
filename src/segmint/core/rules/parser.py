"""Tokens → syntax tree, by recursive descent (one method per grammar rule; see docs/rules.md).

The parser knows the shape of the language only: whether ``ordrs_count`` is a trait, or ``category`` an
event column, is the checker's question. Keywords are matched case-insensitively.
"""

from __future__ import annotations

from segmint.core.rules import nodes as n
from segmint.core.rules.errors import RuleSyntaxError
from segmint.core.rules.tokenizer import Token, tokenize

__all__ = ["RESERVED", "parse"]

RESERVED = frozenset(
    {
        "and",
        "or",
        "not",
        "in",
        "between",
        "contains",
        "starts",
        "with",
        "is",
        "missing",
        "present",
        "where",
        "within",
        "did",
        "true",
        "false",
        "today",
        "now",
        "then",
        "then_not",
        "by",
        "since",
    }
)
_PREDICATE_FUNCS = ("sequence", "in_segment", "within_km", "consent")


def parse(text: str) -> n.Rule:
    """Parse rule text into a :class:`~segmint.core.rules.nodes.Rule`. Raises RuleSyntaxError with the
    line and column of the first token that does not fit."""
    if not text.strip():
        raise RuleSyntaxError("the rule is empty", 1, 1)
    parser = _Parser(tokenize(text))
    body = parser.expr()
    parser.expect_eof()
    return n.Rule(body=body, source=text, pos=body.pos)


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0

    # ------------------------------------------------------------ token helpers

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def peek(self, ahead: int = 1) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        if tok.kind != "EOF":
            self.i += 1
        return tok

    def is_kw(self, word: str, tok: Token | None = None) -> bool:
        tok = tok or self.tok
        return tok.kind == "IDENT" and tok.text.lower() == word

    def accept_kw(self, word: str) -> bool:
        if self.is_kw(word):
            self.advance()
            return True
        return False

    def expect_kw(self, word: str, what: str = "") -> Token:
        if not self.is_kw(word):
            self.fail(f"expected '{word}'{what}")
        return self.advance()

    def expect(self, kind: str, what: str) -> Token:
        if self.tok.kind != kind:
            self.fail(f"expected {what}")
        return self.advance()

    def fail(self, message: str, tok: Token | None = None):
        tok = tok or self.tok
        found = "the end of the rule" if tok.kind == "EOF" else f"'{tok.text}'"
        raise RuleSyntaxError(f"{message}, found {found}", tok.line, tok.column)

    def expect_eof(self) -> None:
        if self.tok.kind == "RPAREN":
            self.fail("unbalanced ')'")
        if self.tok.kind != "EOF":
            self.fail("expected 'and', 'or' or the end of the rule")

    @staticmethod
    def pos(tok: Token) -> n.Pos:
        return n.Pos(tok.line, tok.column)

    # ------------------------------------------------------------ boolean structure

    def expr(self) -> n.Expr:
        start = self.tok
        items = [self.and_expr()]
        while self.accept_kw("or"):
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else n.Or(tuple(items), pos=self.pos(start))

    def and_expr(self) -> n.Expr:
        start = self.tok
        items = [self.unary()]
        while self.accept_kw("and"):
            items.append(self.unary())
        return items[0] if len(items) == 1 else n.And(tuple(items), pos=self.pos(start))

    def unary(self) -> n.Expr:
        start = self.tok
        if self.accept_kw("not"):
            return n.Not(self.unary(), pos=self.pos(start))
        return self.primary()

    def primary(self) -> n.Expr:
        tok = self.tok
        if tok.kind == "LPAREN":
            self.advance()
            inner = self.expr()
            self.expect("RPAREN", "')' to close the '(' at " + str(self.pos(tok)))
            return inner
        if self.is_kw("did"):
            return self.did()
        if tok.kind == "IDENT" and self.peek().kind == "LPAREN":
            name = tok.text.lower()
            if name == "sequence":
                return self.sequence()
            if name == "in_segment":
                return self.in_segment()
            if name == "within_km":
                return self.within_km()
            if name == "consent":
                return self.consent()
        value = self.value()
        return self.tail(value, tok)

    # ------------------------------------------------------------ values

    def value(self) -> n.Value:
        tok = self.tok
        if tok.kind == "IDENT" and self.peek().kind == "LPAREN":
            func = tok.text.lower()
            if func in n.AGG_FUNCS:
                return self.aggregate()
            self.fail(
                f"unknown function '{tok.text}': use count, sum, avg, min, max, first, last, "
                "sequence, in_segment, within_km or consent",
            )
        if tok.kind != "IDENT" or tok.text.lower() in RESERVED:
            self.fail("expected a name, a function or '('")
        return self.field()

    def field(self) -> n.Field:
        start = self.tok
        parts = [self.advance().text]
        while self.tok.kind == "DOT":
            self.advance()
            parts.append(self.expect("IDENT", "a name after '.'").text)
        return n.Field(tuple(parts), pos=self.pos(start))

    def event_ref(self) -> tuple[str, tuple[str, ...], Token]:
        tok = self.tok
        if tok.kind != "IDENT" or tok.text.lower() in RESERVED:
            self.fail("expected an event name")
        path = self.field().path
        return path[0], path[1:], tok

    def aggregate(self) -> n.Aggregate:
        start = self.advance()
        func = start.text.lower()
        self.expect("LPAREN", "'('")
        event, prop, ev_tok = self.event_ref()
        if func in ("sum", "avg", "min", "max") and not prop:
            self.fail(f"{func}() needs an event property, e.g. {func}({event}.value)", ev_tok)
        if func in ("count", "first", "last") and prop:
            self.fail(f"{func}() takes an event name without a property, e.g. {func}({event})", ev_tok)
        where = self.expr() if self.accept_kw("where") else None
        window = None
        if self.tok.kind == "COMMA":
            self.advance()
            self.accept_kw("within")
            window = self.duration()
        self.expect("RPAREN", "',' and a window such as 30d, or ')'")
        return n.Aggregate(func, event, prop or None, where, window, pos=self.pos(start))

    def duration(self) -> n.Duration:
        tok = self.tok
        if tok.kind != "DURATION" or tok.sign:
            self.fail("expected a duration such as 30d or 12h")
        self.advance()
        return n.Duration(int(tok.value), pos=self.pos(tok))  # type: ignore[call-overload]

    # ------------------------------------------------------------ predicates on a value

    def tail(self, value: n.Value, start: Token) -> n.Expr:
        pos = self.pos(start)
        tok = self.tok
        if tok.kind == "OP":
            self.advance()
            return n.Compare(value, str(tok.value), self.literal(), pos=pos)
        if self.is_kw("not") and self.is_kw("in", self.peek()):
            self.advance()
            self.advance()
            return n.InList(value, self.literal_list(), negated=True, pos=pos)
        if self.accept_kw("in"):
            return n.InList(value, self.literal_list(), pos=pos)
        if self.accept_kw("between"):
            low = self.literal()
            self.expect_kw("and", " between the two bounds of 'between'")
            return n.Between(value, low, self.literal(), pos=pos)
        if self.accept_kw("contains"):
            return n.Contains(value, self.literal(), pos=pos)
        if self.accept_kw("starts"):
            self.expect_kw("with", " after 'starts'")
            return n.StartsWith(value, self.literal(), pos=pos)
        if self.accept_kw("is"):
            if self.accept_kw("missing"):
                return n.IsMissing(value, pos=pos)
            if self.accept_kw("present"):
                return n.IsMissing(value, negated=True, pos=pos)
            if self.accept_kw("not"):
                self.expect_kw("missing", " after 'is not'")
                return n.IsMissing(value, negated=True, pos=pos)
            self.fail("expected 'missing' or 'present' after 'is'")
        if isinstance(value, n.Field):
            if tok.kind in ("NUMBER", "STRING", "DURATION") or (
                tok.kind == "IDENT" and tok.text.lower() not in RESERVED
            ):
                self.fail(f"expected an operator after '{value.name}'")
            return n.Truthy(value, pos=pos)
        self.fail(f"expected a comparison after {value.func}(...), e.g. >= 1")
        raise AssertionError  # unreachable: fail raises

    def literal_list(self) -> tuple[n.Literal, ...]:
        self.expect("LPAREN", "'(' to start the list")
        items = [self.literal()]
        while self.tok.kind == "COMMA":
            self.advance()
            items.append(self.literal())
        self.expect("RPAREN", "',' or ')' in the list")
        return tuple(items)

    def literal(self) -> n.Literal:
        tok = self.tok
        pos = self.pos(tok)
        if tok.kind == "NUMBER":
            self.advance()
            return n.NumberLit(tok.value, pos=pos)  # type: ignore[arg-type]
        if tok.kind == "STRING":
            self.advance()
            return n.StringLit(str(tok.value), pos=pos)
        if tok.kind == "DURATION":
            if not tok.sign:
                self.fail(f"a time needs a sign: write -{tok.text} for {tok.text} before as_of")
            self.advance()
            return n.RelTime("now", int(tok.value), pos=pos)  # type: ignore[call-overload]
        if self.is_kw("true") or self.is_kw("false"):
            self.advance()
            return n.BoolLit(tok.text.lower() == "true", pos=pos)
        if self.is_kw("today") or self.is_kw("now"):
            self.advance()
            offset = 0
            if self.tok.kind == "DURATION" and self.tok.sign:
                offset = int(self.advance().value)  # type: ignore[call-overload]
            return n.RelTime(tok.text.lower(), offset, pos=pos)
        self.fail("expected a value: a number, 'text', true/false, a date '2025-01-31' or a time like -30d")
        raise AssertionError

    # ------------------------------------------------------------ event predicates

    def did(self) -> n.Did:
        start = self.advance()
        negated = self.accept_kw("not")
        event, prop, ev_tok = self.event_ref()
        if prop:
            self.fail("did takes an event name; filter on properties with 'where'", ev_tok)
        where = self.expr() if self.accept_kw("where") else None
        window = self.duration() if self.accept_kw("within") else None
        return n.Did(event, where, window, negated, pos=self.pos(start))

    def step(self) -> n.Step:
        event, prop, tok = self.event_ref()
        if prop:
            self.fail("a sequence step is an event name; filter on properties with 'where'", tok)
        where = self.expr() if self.accept_kw("where") else None
        return n.Step(event, where, pos=self.pos(tok))

    def sequence(self) -> n.Sequence:
        start = self.advance()
        self.expect("LPAREN", "'('")
        first = self.step()
        self.expect("COMMA", "',' then 'then EVENT' or 'then_not EVENT'")
        if self.accept_kw("then_not"):
            negated = True
        elif self.accept_kw("then"):
            negated = self.accept_kw("not")
        else:
            self.fail("expected 'then' or 'then_not' for the second step")
        then = self.step()
        options: dict[str, object] = {}
        while self.tok.kind == "COMMA":
            self.advance()
            opt = self.tok
            word = opt.text.lower() if opt.kind == "IDENT" else ""
            if word not in ("within", "by", "since"):
                self.fail("expected 'within DURATION', 'by KEY' or 'since DURATION'")
            if word in options:
                self.fail(f"'{word}' is given twice")
            self.advance()
            if word == "by":
                key = self.expect("IDENT", "an event column to match steps on, e.g. cart_id")
                options[word] = key.text
            else:
                options[word] = self.duration()
        self.expect("RPAREN", "',' or ')'")
        return n.Sequence(
            first,
            then,
            negated,
            within=options.get("within"),  # type: ignore[arg-type]
            by=options.get("by"),  # type: ignore[arg-type]
            since=options.get("since"),  # type: ignore[arg-type]
            pos=self.pos(start),
        )

    def in_segment(self) -> n.InSegment:
        start = self.advance()
        self.expect("LPAREN", "'('")
        name = self.expect("STRING", "a quoted segment name, e.g. in_segment('vip')")
        self.expect("RPAREN", "')'")
        return n.InSegment(str(name.value), pos=self.pos(start))

    def within_km(self) -> n.WithinKm:
        start = self.advance()
        self.expect("LPAREN", "'('")
        args = []
        for i, what in enumerate(("latitude", "longitude", "radius in km")):
            if i:
                self.expect("COMMA", "',' in within_km(latitude, longitude, km)")
            tok = self.expect("NUMBER", f"a number for the {what} in within_km(latitude, longitude, km)")
            args.append(n.NumberLit(tok.value, pos=self.pos(tok)))  # type: ignore[arg-type]
        self.expect("RPAREN", "')'")
        return n.WithinKm(args[0], args[1], args[2], pos=self.pos(start))

    def consent(self) -> n.Consent:
        start = self.advance()
        self.expect("LPAREN", "'('")
        channel = self.expect("IDENT", "a channel: email, sms or ads")
        self.expect("RPAREN", "')'")
        return n.Consent(channel.text.lower(), pos=self.pos(start))
