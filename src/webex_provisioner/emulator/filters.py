"""SCIM filters (RFC 7644 §3.4.2.2): parse, check against Webex's documented subset, evaluate. Pure.

``parse`` builds an expression tree for the grammar's ``eq ne co sw ew pr``, ``and``/``or``,
parentheses and value paths (``emails[type eq "work"]``); ``not`` and the ordering operators are
refused. ``check_searchable`` then narrows it to what Webex documents for user search
(docs/emulator.md). String comparisons ignore case, as the Webex schema says (``caseExact: false``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from webex_provisioner.emulator.errors import ScimError
from webex_provisioner.emulator.schema import (
    CISCO_URN,
    CORE_URN,
    ENTERPRISE_URN,
    AttrRef,
    resolve,
)

Literal_ = str | bool | int | float | None

_COMPARE_OPERATORS = frozenset({"eq", "ne", "co", "sw", "ew"})
_REFUSED_OPERATORS = frozenset({"gt", "ge", "lt", "le"})
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
MAX_TOKENS = 256
"""Longer filters are refused (400): they would nest deeper than the parser and the evaluation
recurse. Webex's documented searches use a handful of tokens."""
_TOKEN = re.compile(r'\s*(?:(?P<punct>[()\[\]])|(?P<string>"(?:[^"\\]|\\.)*")|(?P<word>[^\s()\[\]"]+))')


@dataclass(frozen=True)
class Compare:
    """``path op value``; inside a value path, ``ref.sub`` is the element's attribute."""

    ref: AttrRef
    op: str
    value: Literal_


@dataclass(frozen=True)
class Present:
    """``path pr``."""

    ref: AttrRef


@dataclass(frozen=True)
class And:
    left: Node
    right: Node


@dataclass(frozen=True)
class Or:
    left: Node
    right: Node


@dataclass(frozen=True)
class ValuePath:
    """``attr[filter]``: some element of the multi-valued ``attr`` matches ``filter``."""

    ref: AttrRef
    filter: Node


Node = Compare | Present | And | Or | ValuePath


def invalid_filter(detail: str) -> ScimError:
    """A 400 ``invalidFilter``."""
    return ScimError(400, detail, "invalidFilter")


# --------------------------------------------------------------------------- parsing


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise invalid_filter(f"cannot parse the filter at character {position + 1}: {text!r}")
        kind = match.lastgroup or "word"
        tokens.append((kind, match.group(kind)))
        if len(tokens) > MAX_TOKENS:
            raise invalid_filter(f"the filter is longer than {MAX_TOKENS} tokens: {text[:80]!r}...")
        position = match.end()
    return tokens


Resolver = Callable[[str], AttrRef]
"""Turns an attribute name of a filter into an ``AttrRef``; raises ``ScimError`` when unknown."""


class _Parser:
    def __init__(self, text: str, parent: AttrRef | None, resolver: Resolver = resolve) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.position = 0
        self.parent = parent
        self.resolver = resolver

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, what: str) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise invalid_filter(f"the filter ends where {what} was expected: {self.text!r}")
        self.position += 1
        return token

    def keyword(self, *words: str) -> bool:
        token = self.peek()
        if token is not None and token[0] == "word" and token[1].lower() in words:
            self.position += 1
            return True
        return False

    def expect(self, punct: str) -> None:
        kind, value = self.take(f"{punct!r}")
        if kind != "punct" or value != punct:
            raise invalid_filter(f"expected {punct!r} but found {value!r} in the filter {self.text!r}")

    def parse(self) -> Node:
        node = self.disjunction()
        token = self.peek()
        if token is not None:
            raise invalid_filter(f"unexpected {token[1]!r} in the filter {self.text!r}")
        return node

    def disjunction(self) -> Node:
        node = self.conjunction()
        while self.keyword("or"):
            node = Or(node, self.conjunction())
        return node

    def conjunction(self) -> Node:
        node = self.term()
        while self.keyword("and"):
            node = And(node, self.term())
        return node

    def term(self) -> Node:
        kind, value = self.take("an attribute or '('")
        if kind == "punct" and value == "(":
            node = self.disjunction()
            self.expect(")")
            return node
        if kind != "word":
            raise invalid_filter(f"unexpected {value!r} in the filter {self.text!r}")
        if value.lower() == "not":
            raise invalid_filter("the 'not' operator is not supported")
        ref = self.attribute(value)
        token = self.peek()
        if token == ("punct", "["):
            return self.value_path(ref)
        kind, op_text = self.take("an operator")
        op = op_text.lower()
        if kind != "word" or (op not in _COMPARE_OPERATORS and op != "pr"):
            if op in _REFUSED_OPERATORS:
                raise invalid_filter(f"the operator {op!r} is not supported")
            raise invalid_filter(f"{op_text!r} is not a filter operator")
        if op == "pr":
            return Present(ref)
        return Compare(ref, op, self.literal())

    def value_path(self, ref: AttrRef) -> Node:
        if self.parent is not None or not ref.attr.multi or ref.sub is not None or not ref.attr.sub:
            raise invalid_filter(f"{ref.text!r} cannot take a value filter")
        self.position += 1
        self.parent = ref
        node = self.disjunction()
        self.parent = None
        self.expect("]")
        return ValuePath(ref, node)

    def attribute(self, text: str) -> AttrRef:
        if self.parent is None:
            try:
                return self.resolver(text)
            except ScimError as exc:
                raise invalid_filter(exc.detail) from exc
        sub = self.parent.attr.sub_attr(text)
        if sub is None:
            raise invalid_filter(f"{self.parent.attr.name!r} has no sub-attribute {text!r}")
        return AttrRef(self.parent.schema, self.parent.attr, sub)

    def literal(self) -> Literal_:
        kind, value = self.take("a value")
        if kind == "string":
            try:
                text: str = json.loads(value)
            except ValueError as exc:
                raise invalid_filter(f"invalid string {value} in the filter") from exc
            return text
        if kind == "word":
            keyword = value.lower()
            if keyword in ("true", "false"):
                return keyword == "true"
            if keyword == "null":
                return None
            if _NUMBER.fullmatch(value):
                number: int | float = json.loads(value)
                return number
        raise invalid_filter(f"{value!r} is not a value (strings need double quotes)")


def parse(text: str, resolver: Resolver = resolve) -> Node:
    """Parse a filter (on users unless ``resolver`` names another resource's attributes);
    raises ``ScimError`` 400 ``invalidFilter``."""
    if not text.strip():
        raise invalid_filter("the filter is empty")
    return _Parser(text, None, resolver).parse()


def parse_element_filter(text: str, parent: AttrRef) -> Node:
    """Parse the filter inside ``parent[...]`` (a PATCH value path), relative to its elements."""
    return _Parser(text, parent).parse()


# --------------------------------------------------------------------------- Webex's subset

_EQ_SW_EW = frozenset({"eq", "sw", "ew"})
_EQ_SW = frozenset({"eq", "sw"})
_EQ = frozenset({"eq"})
_SEARCHABLE: dict[tuple[str, str, str | None], frozenset[str]] = {
    (CORE_URN, "id", None): _EQ,
    (CORE_URN, "userName", None): _EQ_SW_EW,
    (CORE_URN, "name", "familyName"): _EQ_SW_EW,
    (CORE_URN, "name", "givenName"): _EQ_SW,
    (CORE_URN, "name", "middleName"): _EQ_SW,
    (CORE_URN, "name", "formatted"): _EQ_SW,
    (CORE_URN, "displayName", None): _EQ_SW_EW,
    (CORE_URN, "nickName", None): _EQ_SW_EW,
    (CORE_URN, "emails", "value"): _EQ_SW_EW,
    (CORE_URN, "emails", "display"): _EQ_SW_EW,
    (CORE_URN, "phoneNumbers", "value"): _EQ_SW_EW,
    (CORE_URN, "phoneNumbers", "display"): _EQ_SW_EW,
    **{(ENTERPRISE_URN, name, None): _EQ_SW_EW for name in ("employeeNumber", "costCenter")},
    **{(ENTERPRISE_URN, name, None): _EQ_SW_EW for name in ("organization", "division", "department")},
    (ENTERPRISE_URN, "manager", "value"): _EQ,
    (ENTERPRISE_URN, "manager", "displayName"): _EQ_SW_EW,
    (CISCO_URN, "meta", "organizationId"): _EQ,
}
_SEARCHABLE_ELEMENTS: dict[str, frozenset[str]] = {
    "value": _EQ_SW_EW,
    "display": _EQ_SW_EW,
    "type": _EQ_SW_EW,
    "primary": _EQ,
}
_VALUE_PATH_PARENTS = frozenset({"emails", "phoneNumbers"})


def check_searchable(node: Node, *, inside: bool = False) -> None:
    """Refuse (400 ``invalidFilter``) what Webex does not document for user search."""
    if isinstance(node, And | Or):
        check_searchable(node.left, inside=inside)
        check_searchable(node.right, inside=inside)
        return
    if isinstance(node, ValuePath):
        if node.ref.attr.name not in _VALUE_PATH_PARENTS:
            raise invalid_filter(f"searching by {node.ref.text}[...] is not supported")
        check_searchable(node.filter, inside=True)
        return
    op = node.op if isinstance(node, Compare) else "pr"
    ref = node.ref
    if inside:
        allowed = _SEARCHABLE_ELEMENTS.get(ref.sub.name if ref.sub else "", frozenset())
    else:
        allowed = _SEARCHABLE.get((ref.schema, ref.attr.name, ref.sub.name if ref.sub else None), frozenset())
    if op not in allowed:
        raise invalid_filter(f"searching by {ref.text} with the operator {op!r} is not supported")


def index_keys(node: Node) -> list[tuple[str, str]] | None:
    """``("userName"|"id", value)`` pairs whose users include every match, or ``None`` (scan needed)."""
    if isinstance(node, Compare):
        ref = node.ref
        indexed = ref.schema == CORE_URN and ref.attr.name in ("userName", "id") and ref.sub is None
        return (
            [(ref.attr.name, node.value)]
            if indexed and node.op == "eq" and isinstance(node.value, str)
            else None
        )
    if isinstance(node, Or):
        left, right = index_keys(node.left), index_keys(node.right)
        return None if left is None or right is None else left + right
    if isinstance(node, And):
        left = index_keys(node.left)
        return left if left is not None else index_keys(node.right)
    return None


# --------------------------------------------------------------------------- evaluation


def _fold(value: object) -> object:
    return value.casefold() if isinstance(value, str) else value


def _values(ref: AttrRef, user: Mapping[str, Any]) -> list[Any]:
    container = user if ref.schema == CORE_URN else user.get(ref.schema)
    if not isinstance(container, Mapping):
        return []
    value = container.get(ref.attr.name)
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    if ref.sub is not None:
        return [item[ref.sub.name] for item in items if isinstance(item, Mapping) and ref.sub.name in item]
    if ref.attr.multi and ref.attr.sub:
        return [item["value"] for item in items if isinstance(item, Mapping) and "value" in item]
    return items


def _compare(values: list[Any], op: str, expected: Literal_) -> bool:
    if op in ("eq", "ne"):
        wanted = _fold(expected)
        found = any(_fold(v) == wanted and type(v) is type(expected) for v in values)
        return found if op == "eq" else not found
    if not isinstance(expected, str):
        raise invalid_filter(f"the operator {op!r} needs a string value")
    wanted_text = expected.casefold()
    texts = [v.casefold() for v in values if isinstance(v, str)]
    if op == "co":
        return any(wanted_text in t for t in texts)
    if op == "sw":
        return any(t.startswith(wanted_text) for t in texts)
    return any(t.endswith(wanted_text) for t in texts)


def _present(values: list[Any]) -> bool:
    return any(v not in (None, "", [], {}) for v in values)


def matches(node: Node, user: Mapping[str, Any]) -> bool:
    """Whether the stored ``user`` matches the filter ``node``."""
    if isinstance(node, Compare):
        return _compare(_values(node.ref, user), node.op, node.value)
    if isinstance(node, Present):
        return _present(_values(node.ref, user))
    if isinstance(node, And):
        return matches(node.left, user) and matches(node.right, user)
    if isinstance(node, Or):
        return matches(node.left, user) or matches(node.right, user)
    return _value_path_matches(node, user)


def _value_path_matches(node: ValuePath, user: Mapping[str, Any]) -> bool:
    container = user if node.ref.schema == CORE_URN else user.get(node.ref.schema)
    elements = container.get(node.ref.attr.name) if isinstance(container, Mapping) else None
    if not isinstance(elements, list):
        return False
    return any(isinstance(e, Mapping) and matches_element(node.filter, e) for e in elements)


def matches_element(node: Node, element: Mapping[str, Any]) -> bool:
    """Whether one element of a multi-valued attribute matches a value-path filter."""
    if isinstance(node, And):
        return matches_element(node.left, element) and matches_element(node.right, element)
    if isinstance(node, Or):
        return matches_element(node.left, element) or matches_element(node.right, element)
    if isinstance(node, ValuePath) or node.ref.sub is None:
        raise invalid_filter("value filters cannot nest")
    value = element.get(node.ref.sub.name)
    values = [] if value is None else [value]
    if isinstance(node, Present):
        return _present(values)
    return _compare(values, node.op, node.value)


def implied_values(node: Node) -> dict[str, Literal_]:
    """The sub-attribute values an ``eq``/``and`` element filter pins down (``type eq "work"`` → type)."""
    if isinstance(node, Compare) and node.op == "eq" and node.ref.sub is not None:
        return {node.ref.sub.name: node.value}
    if isinstance(node, And):
        return {**implied_values(node.left), **implied_values(node.right)}
    return {}
