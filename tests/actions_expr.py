"""Evaluate the subset of GitHub Actions expressions that the workflows' `if:` conditions use.

Supported: `${{ }}` around the whole expression, single-quoted string literals ('' escapes a
quote), `true`, `false`, `null`, context property paths (`github.event.workflow_run.event`),
`!`, `==`, `!=`, `&&`, `||` and parentheses. The rules follow GitHub's documentation:
missing properties are null, `==` compares strings case-insensitively and coerces mismatched
types to numbers, `&&` and `||` return one of their operands, and `!` negates truthiness.

Anything else (function calls, `<`, indexes, numbers, double quotes, unknown contexts) raises
UnsupportedExpression, so an `if:` rewritten with new syntax fails its tests instead of being
evaluated wrongly.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

_TOKEN = re.compile(
    r"""
    \s*(?:
        (?P<string>'(?:[^']|'')*')
      | (?P<op>==|!=|&&|\|\||!|\(|\))
      | (?P<path>[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)*)
      | (?P<other>\S)
    )
    """,
    re.VERBOSE,
)
_LITERALS = {"true": True, "false": False, "null": None}


class UnsupportedExpression(ValueError):
    """The expression uses syntax this evaluator does not implement."""


@dataclass(frozen=True)
class _Token:
    kind: str  # "string", "op", "path", "other" (unsupported) or "end"
    text: str


def _tokens(source: str) -> list[_Token]:
    tokens, pos = [], 0
    while pos < len(source):
        if not source[pos:].strip():
            break
        match = _TOKEN.match(source, pos)  # `other` matches any character: never None
        kind = match.lastgroup
        tokens.append(_Token(kind, match.group(kind)))
        pos = match.end()
    tokens.append(_Token("end", ""))
    return tokens


def strip_braces(expression: str) -> str:
    """Return the expression inside `${{ }}`, or the text itself when it has none."""
    text = expression.strip()
    if text.startswith("${{") and text.endswith("}}"):
        text = text[3:-2]
    if "${{" in text or "}}" in text:
        raise UnsupportedExpression(f"`${{{{ }}}}` must wrap the whole expression: {expression!r}")
    return text


def _get(mapping: Any, key: str) -> Any:
    """Look a property up the way Actions does: case-insensitively, null when missing."""
    if not isinstance(mapping, dict):
        return None
    folded = key.casefold()
    return next((v for k, v in mapping.items() if k.casefold() == folded), None)


def truthy(value: Any) -> bool:
    """Return Actions' truthiness: null, false, 0, NaN and '' are falsy."""
    if value is None or value is False or value == "":
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value != 0 and not math.isnan(value)
    return True


def _number(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return 0.0
        try:
            return float(text)
        except ValueError:
            return math.nan
    return math.nan  # objects and arrays


def _equal(left: Any, right: Any) -> bool:
    if isinstance(left, str) and isinstance(right, str):
        return left.casefold() == right.casefold()
    if type(left) is type(right) and not isinstance(left, (int, float, bool)):
        return left is right if isinstance(left, (dict, list)) else left == right
    return _number(left) == _number(right)


class _Parser:
    def __init__(self, source: str, context: dict[str, Any]) -> None:
        self.source = source
        self.context = context
        self.tokens = _tokens(source)
        self.i = 0

    def _peek(self) -> _Token:
        return self.tokens[self.i]

    def _take(self) -> _Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def _fail(self, what: str) -> UnsupportedExpression:
        token = self._peek()
        near = token.text or "end of expression"
        return UnsupportedExpression(f"{what} near {near!r} in {self.source!r}")

    def parse(self) -> Any:
        value = self._or()
        if self._peek().kind != "end":
            raise self._fail("unsupported or unexpected token")
        return value

    def _or(self) -> Any:
        value = self._and()
        while self._peek().text == "||":
            self._take()
            right = self._and()
            value = value if truthy(value) else right
        return value

    def _and(self) -> Any:
        value = self._equality()
        while self._peek().text == "&&":
            self._take()
            right = self._equality()
            value = right if truthy(value) else value
        return value

    def _equality(self) -> Any:
        value = self._unary()
        while self._peek().text in ("==", "!="):
            op = self._take().text
            right = self._unary()
            value = _equal(value, right) == (op == "==")
        return value

    def _unary(self) -> Any:
        if self._peek().text == "!":
            self._take()
            return not truthy(self._unary())
        return self._primary()

    def _primary(self) -> Any:
        token = self._take()
        if token.kind == "string":
            return token.text[1:-1].replace("''", "'")
        if token.text == "(":
            value = self._or()
            if self._take().text != ")":
                self.i -= 1
                raise self._fail("missing ')'")
            return value
        if token.kind == "path":
            if self._peek().text == "(":
                raise UnsupportedExpression(
                    f"function call {token.text}() is not supported in {self.source!r}"
                )
            return self._resolve(token.text)
        self.i -= 1
        raise self._fail("expected a value")

    def _resolve(self, path: str) -> Any:
        name, *props = path.split(".")
        if not props and name.casefold() in _LITERALS:
            return _LITERALS[name.casefold()]
        if _get(self.context, name) is None:
            raise UnsupportedExpression(f"unknown context {name!r} in {self.source!r}")
        value = _get(self.context, name)
        for prop in props:
            value = _get(value, prop)
        return value


def evaluate(expression: str, context: dict[str, Any]) -> Any:
    """Evaluate an Actions expression against `context` (e.g. {"github": {...}})."""
    return _Parser(strip_braces(expression), context).parse()


def condition_passes(expression: str, context: dict[str, Any]) -> bool:
    """Return whether a job's `if:` lets it run (no `needs`, so no implicit status check)."""
    return truthy(evaluate(expression, context))
