"""A small recursive-descent parser for the LaTeX most answers use, straight to sympy.

latex2sympy2_extended's ANTLR parser costs 5–40 ms per expression in pure Python; this
one costs a fraction of a millisecond on its subset: numbers, one-letter variables,
``+ - * / ^ !``, ``\\cdot``, ``\\times``, ``\\frac``, ``\\sqrt`` (with an index),
``\\pi``, ``\\infty``, ``\\sin``/``\\cos``/``\\tan``, parentheses and braces, implicit
multiplication, and one relation (``= < > \\leq \\geq \\neq``). Anything else raises
:class:`Unsupported` and the caller falls back to latex2sympy, so the subset only has to
be right, never complete. Symbols are built exactly as latex2sympy builds them (plain,
lower-cased), so values from both parsers compare.

Example:
    >>> parse_subset(r"\\frac{x^2-1}{x-1} + 2\\sqrt{2}")
    2*sqrt(2) + (x**2 - 1)/(x - 1)
"""

from __future__ import annotations

import re

import sympy


class Unsupported(ValueError):
    """The input uses LaTeX outside the subset."""


_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?|\.\d+)|(?P<cmd>\\[a-zA-Z]+)|(?P<var>[a-zA-Z])|(?P<op><=|>=|!=|[-+*/^!=<>(){}\[\]]))"
)
_RELATIONS = {
    "=": sympy.Eq,
    "<": sympy.StrictLessThan,
    ">": sympy.StrictGreaterThan,
    "\\leq": sympy.LessThan,
    "<=": sympy.LessThan,
    "\\geq": sympy.GreaterThan,
    ">=": sympy.GreaterThan,
    "\\neq": sympy.Ne,
    "!=": sympy.Ne,
}
_FUNCTIONS = {
    "\\sin": sympy.sin,
    "\\cos": sympy.cos,
    "\\tan": sympy.tan,
    "\\ln": sympy.log,  # natural log, as latex2sympy reads it (\log is base 10 there)
    "\\exp": sympy.exp,
}
_CONSTANTS = {"\\pi": sympy.pi, "\\infty": sympy.oo}
_PRODUCT = {"*", "\\cdot", "\\times"}
_MAX_LENGTH = 300  # longer answers are rare; leave them to the full parser


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise Unsupported(f"unexpected {text[pos : pos + 10]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise Unsupported(f"expected {expected or 'more input'}, got {token!r}")
        self.pos += 1
        return token

    def relation(self) -> sympy.Basic:
        """An expression, a relation, or a chain ``1 \\le x < 3`` (a conjunction)."""
        parts = [self.expr()]
        relations = []
        while self.peek() in _RELATIONS:
            relations.append(_RELATIONS[self.take()])
            parts.append(self.expr())
        if not relations:
            return parts[0]
        if sympy.Eq in relations and len(relations) > 1:
            raise Unsupported("a chain with an equation")
        built = [
            rel(a, b, evaluate=False) if rel is sympy.Eq else rel(a, b)
            for rel, a, b in zip(relations, parts, parts[1:], strict=False)
        ]
        return built[0] if len(built) == 1 else sympy.And(*built)

    def expr(self) -> sympy.Expr:
        value = self.term()
        while self.peek() in ("+", "-"):
            op = self.take()
            right = self.term()
            value = value + right if op == "+" else value - right
        return value

    def term(self) -> sympy.Expr:
        value = self.unary()
        while True:
            token = self.peek()
            if token in _PRODUCT:
                self.take()
                value = value * self.unary()
            elif token == "/":
                self.take()
                value = value / self.unary()
            elif self._starts_atom():
                value = value * self.power()  # implicit multiplication: 2x, 2\pi, (a)(b)
            else:
                return value

    def _starts_atom(self) -> bool:
        if self.pos >= len(self.tokens):
            return False
        kind, token = self.tokens[self.pos]
        if kind == "num":
            return False  # "2 3" is not 6; leave odd input to the full parser
        if kind == "var" or token in ("(", "{"):
            return True
        return kind == "cmd" and token in (*_CONSTANTS, *_FUNCTIONS, "\\frac", "\\sqrt")

    def unary(self) -> sympy.Expr:
        if self.peek() in ("-", "+"):
            sign = self.take()
            operand = self.unary()
            return -operand if sign == "-" else operand
        return self.power()

    def power(self) -> sympy.Expr:
        base = self.postfix()
        if self.peek() == "^":
            self.take()
            return base ** self.exponent()
        return base

    def exponent(self) -> sympy.Expr:
        if self.peek() == "{":
            return self.group()
        if self.peek() == "-":
            self.take()
            return -self.atom()
        return self.atom()

    def postfix(self) -> sympy.Expr:
        value = self.atom()
        while self.peek() == "!":
            self.take()
            value = sympy.factorial(value)
        return value

    def group(self) -> sympy.Expr:
        self.take("{")
        value = self.expr()
        self.take("}")
        return value

    def argument(self) -> sympy.Expr:
        """A command's argument: ``{…}`` or a single digit/letter (``\\frac12``)."""
        if self.peek() == "{":
            return self.group()
        kind, token = self.tokens[self.pos] if self.pos < len(self.tokens) else ("", "")
        if (kind == "num" and len(token) == 1) or kind == "var":
            return self.atom()
        raise Unsupported("command argument")

    def atom(self) -> sympy.Expr:
        if self.pos >= len(self.tokens):
            raise Unsupported("unexpected end")
        kind, token = self.tokens[self.pos]
        self.pos += 1
        if kind == "num":
            return sympy.Rational(token) if "." in token else sympy.Integer(token)
        if kind == "var":
            return sympy.Symbol(token.lower())
        if token == "(":
            value = self.expr()
            self.take(")")
            return value
        if token == "{":
            self.pos -= 1
            return self.group()
        if token in _CONSTANTS:
            return _CONSTANTS[token]
        if token == "\\frac":
            numerator = self.argument()
            return numerator / self.argument()
        if token == "\\sqrt":
            return self._sqrt()
        if token in _FUNCTIONS:
            return self._function(_FUNCTIONS[token])
        raise Unsupported(f"token {token!r}")

    def _sqrt(self) -> sympy.Expr:
        index = None
        if self.peek() == "[":
            self.take()
            index = self.expr()
            self.take("]")
        radicand = self.argument()
        return sympy.sqrt(radicand) if index is None else sympy.root(radicand, index)

    def _function(self, function: type[sympy.Function]) -> sympy.Expr:
        power = None
        if self.peek() == "^":  # \sin^2 x = (sin x)^2
            self.take()
            power = self.exponent()
        if self.peek() == "(":
            self.take()
            argument = self.expr()
            self.take(")")
        elif self.pos < len(self.tokens) and self.tokens[self.pos][0] == "var":
            argument = self.atom()  # \sin x; "\sin 2x" means sin(2x): left to the full parser
        else:
            raise Unsupported("function argument without parentheses")
        value = function(argument)
        return value**power if power is not None else value


def parse_subset(text: str) -> sympy.Basic:
    """Parse normalized LaTeX in the subset; raise :class:`Unsupported` otherwise."""
    if len(text) > _MAX_LENGTH:
        raise Unsupported("too long for the fast parser")
    parser = _Parser(_tokenize(text))
    if not parser.tokens:
        raise Unsupported("empty")
    value = parser.relation()
    if parser.pos != len(parser.tokens):
        raise Unsupported(f"trailing {parser.peek()!r}")
    return value
