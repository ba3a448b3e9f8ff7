"""Mapping: directory attributes -> the desired Webex user. Pure: no I/O, no clock, no globals.

A rule is an attribute name (``title: title``), a template (``displayName: "{{ givenName }} {{ sn }}"``)
or a dict ``{from | template | value, default, create_only, case, trim, multi}``. Templates run in
Jinja2's sandbox: a directory value can never reach Python objects.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Container, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

import jinja2
import jinja2.meta
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import BaseModel, ConfigDict, model_validator

from webex_provisioner.model import DirectoryUser
from webex_provisioner.model.attributes import WEBEX_ATTRIBUTES
from webex_provisioner.model.keys import normalize_dn

_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
"""Unicode categories that have no place in an e-mail address: controls (NUL), format characters
(zero-width space, right-to-left override), surrogates, private use, unassigned, line breaks."""
MAX_URL_LENGTH = 2048
"""The longest photo URL sent to Webex."""


def _before_markup(template: str) -> str:
    """The literal text a template starts with, before its first ``{{`` or ``{%``."""
    ends = [i for i in (template.find("{{"), template.find("{%")) if i >= 0]
    return template[: min(ends)] if ends else template


def is_photo_url(value: str) -> bool:
    """Whether ``value`` is an absolute http(s) URL with a host and no blank (checked without a
    pattern: a hostile value costs linear time)."""
    if len(value) > MAX_URL_LENGTH or any(c.isspace() for c in value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


BINARY_PHOTO_ATTRIBUTES = frozenset({"jpegphoto", "thumbnailphoto", "thumbnaillogo", "photo"})
"""Directory attributes holding an image's bytes: Webex takes only a URL (``avatar``)."""

AVATAR_ADVICE = (
    "Webex takes only the URL of a photo (SCIM photos), it has no upload: serve the photos over "
    "HTTPS (for example exported to a web server, one file per user) and map avatar to their URL, "
    "e.g. 'avatar: \"https://photos.example.com/{{ uid }}.jpg\"'"
)


class MappingRule(BaseModel):
    """How one Webex attribute is computed from a directory user."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    source: str | None = None
    template: str | None = None
    value: str | None = None
    default: str | None = None
    create_only: bool = False
    case: Literal["preserve", "lower", "upper"] = "preserve"
    trim: bool = True
    multi: Literal["error", "first", "join"] = "error"
    unresolved: Literal["skip", "omit"] = "skip"
    """For ``manager``: a manager who is not provisioned skips the user (reported), or is omitted."""

    @classmethod
    def parse(cls, raw: object) -> object:
        """Accept the short forms: an attribute name or a template string."""
        if isinstance(raw, MappingRule):
            return raw
        if isinstance(raw, str):
            return {"template": raw} if "{{" in raw or "{%" in raw else {"source": raw}
        if isinstance(raw, dict) and "from" in raw:
            raw = {("source" if k == "from" else k): v for k, v in raw.items()}
        return raw

    @model_validator(mode="after")
    def _one_source(self) -> MappingRule:
        given = [k for k in ("source", "template", "value") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("a mapping rule needs exactly one of from, template or value")
        return self

    def attributes(self) -> set[str]:
        """The directory attributes this rule reads."""
        if self.source:
            return {self.source}
        if self.template:
            try:
                parsed = template_environment().parse(self.template)
            except jinja2.TemplateSyntaxError:
                return set()  # reported by compile_mapping
            return set(jinja2.meta.find_undeclared_variables(parsed)) - {"dn", "anchor"}
        return set()


def _cn_from_dn(dn: object) -> str:
    first = str(dn).split(",", 1)[0]
    return first.split("=", 1)[1].strip() if "=" in first else first


def _local_part(email: object) -> str:
    return str(email).split("@", 1)[0]


def _domain(email: object) -> str:
    text = str(email)
    return text.split("@", 1)[1] if "@" in text else ""


def template_environment() -> ImmutableSandboxedEnvironment:
    """The sandbox templates run in, with the project's filters."""
    env = ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)
    env.filters.update(cn_from_dn=_cn_from_dn, local_part=_local_part, domain=_domain)
    return env


# (Webex attribute, its directory attribute if the rule is plain, trim, longest value, the rule)
Step = tuple[str, str | None, bool, int | None, "MappingRule"]


@dataclass(frozen=True)
class CompiledMapping:
    """Rules ready to evaluate: templates compiled once, in one sandbox environment."""

    rules: Mapping[str, MappingRule]
    templates: Mapping[str, jinja2.Template]
    template_names: Mapping[str, frozenset[str]]
    sources: Mapping[str, str] = field(default_factory=dict)
    """Webex attribute -> the directory attribute (lower case) of each ``from`` rule."""
    steps: tuple[Step, ...] = ()
    """The rules in order as ``desired_user`` walks them (see ``Step``). A *plain* rule (``from``
    with no default, case change or special meaning) takes a single value as it is (trimmed if
    asked): the common case, done first."""

    def attributes(self) -> set[str]:
        names: set[str] = set()
        for rule in self.rules.values():
            names |= rule.attributes()
        return names


def compile_mapping(rules: Mapping[str, MappingRule]) -> CompiledMapping:
    """Check and compile the rules; ``ValueError`` names every bad key and the fix."""
    problems: list[str] = []
    unknown = sorted(set(rules) - set(WEBEX_ATTRIBUTES))
    if unknown:
        problems.append(
            f"unknown Webex attribute(s) {', '.join(unknown)}; supported: {', '.join(WEBEX_ATTRIBUTES)}"
        )
    if "email" not in rules:
        problems.append("email is required (the Webex userName), e.g. 'email: mail'")
    if "avatar" in rules:
        problems += avatar_problems(rules["avatar"])
    env = template_environment()
    templates: dict[str, jinja2.Template] = {}
    for key, rule in rules.items():
        if rule.template is None:
            continue
        try:
            templates[key] = env.from_string(rule.template)
        except jinja2.TemplateSyntaxError as exc:
            problems.append(
                f"{key}: invalid template ({exc.message}, line {exc.lineno}); check the {{{{ }}}} syntax"
            )
    if problems:
        raise ValueError("; ".join(problems))
    names = {key: frozenset(rules[key].attributes()) for key in templates}
    sources = {key: rule.source.lower() for key, rule in rules.items() if rule.source is not None}
    plain = {
        key: name
        for key, name in sources.items()
        if rules[key].default is None and rules[key].case == "preserve" and key not in ("manager", "avatar")
    }
    steps = tuple(
        (key, plain.get(key), rule.trim, WEBEX_ATTRIBUTES.get(key), rule) for key, rule in rules.items()
    )
    return CompiledMapping(
        rules=dict(rules),
        templates=templates,
        template_names=names,
        sources=sources,
        steps=steps,
    )


def avatar_problems(rule: MappingRule) -> list[str]:
    """What makes ``rule`` unfit for ``avatar`` (a URL): a binary photo attribute, or a fixed
    value or template text that cannot make an http(s) URL."""
    binary = sorted(name for name in rule.attributes() if name.lower() in BINARY_PHOTO_ATTRIBUTES)
    if binary:
        return [f"avatar: {', '.join(binary)} holds the photo itself, not its URL; {AVATAR_ADVICE}"]
    if rule.value is not None and not is_photo_url(rule.value.strip()):
        return [f"avatar: {rule.value!r} is not an http(s) URL; {AVATAR_ADVICE}"]
    if rule.template is not None:
        prefix = _before_markup(rule.template).strip().lower()
        schemes = ("http://", "https://")
        if prefix and not prefix.startswith(schemes) and not any(s.startswith(prefix) for s in schemes):
            return [f"avatar: the template makes no http(s) URL (it starts {prefix!r}); {AVATAR_ADVICE}"]
    return []


def _check_avatar(value: str) -> None:
    if not is_photo_url(value):
        raise _UnmappableError(
            f"avatar: {value!r} is not an http(s) URL; Webex takes the URL of a photo it can fetch"
        )


@dataclass(frozen=True, slots=True)
class Desired:
    """The desired Webex user of one directory user, or why there is none.

    ``pending_manager`` is the manager DN whose Webex id is not known yet (the manager is being
    provisioned in the same cycle): the manager attribute is left out until it is.
    """

    attributes: Mapping[str, str]
    problem: str | None = None
    pending_manager: str | None = None

    @property
    def email(self) -> str:
        return self.attributes.get("email", "")


def finish_value(value: str | None, rule: MappingRule) -> str | None:
    """``value`` trimmed and cased as ``rule`` says; ``None`` when nothing is left."""
    if value is None:
        return None
    if rule.trim:
        value = value.strip()
    if rule.case == "lower":
        value = value.lower()
    elif rule.case == "upper":
        value = value.upper()
    return value or None


def _source_value(user: DirectoryUser, key: str, rule: MappingRule, name: str) -> str | None:
    """The value of attribute ``name`` (lower case) for ``rule``; one value is the common case."""
    assert rule.source is not None
    if user.undecodable and name in user.undecodable:
        raise _UnmappableError(f"{key}: attribute {rule.source} holds binary or non-UTF-8 data")
    found = user.attributes.get(name, ())
    if len(found) == 1:
        value = found[0]
        return value if not rule.trim or value.strip() else None
    values = [v for v in found if v.strip() or not rule.trim]
    if len(set(values)) > 1:
        if rule.multi == "first":
            return values[0]
        if rule.multi == "join":
            return ", ".join(values)
        raise _UnmappableError(
            f"{key}: attribute {rule.source} has {len(values)} values where one is expected; "
            f"fix the entry or set 'multi: first' on the {key} rule"
        )
    return values[0] if values else None


class _UnmappableError(Exception):
    pass


def _template_value(user: DirectoryUser, key: str, template: jinja2.Template, names: frozenset[str]) -> str:
    context: dict[str, Any] = {"dn": user.dn, "anchor": user.anchor}
    for name in names:
        if name.lower() in user.undecodable:
            raise _UnmappableError(f"{key}: attribute {name} holds binary or non-UTF-8 data")
        context[name] = user.first(name) or ""
    try:
        return template.render(context)
    except jinja2.TemplateError as exc:
        raise _UnmappableError(f"{key}: template failed ({exc})") from exc


def _rule_value(user: DirectoryUser, key: str, rule: MappingRule, mapping: CompiledMapping) -> str | None:
    """The value of a rule that is not plain (a fixed value, a template, a default, a case)."""
    if rule.value is not None:
        value: str | None = rule.value
    elif rule.source is not None:
        value = _source_value(user, key, rule, mapping.sources.get(key) or rule.source.lower())
    else:
        value = _template_value(user, key, mapping.templates[key], mapping.template_names[key])
    return finish_value(value, rule) or finish_value(rule.default, rule)


def _manager_id(
    dn: str, rule: MappingRule, manager_ids: Mapping[str, str], pending_dns: Container[str]
) -> tuple[str | None, bool]:
    """The Webex id of the manager ``dn`` (``None``: leave the manager out), and whether this
    cycle provisions the manager first (the id then comes in a follow-up)."""
    key = normalize_dn(dn)
    manager_id = manager_ids.get(key)
    if manager_id is not None:
        return manager_id, False
    if key in pending_dns:
        return None, True
    if rule.unresolved == "omit":
        return None, False
    raise _UnmappableError(
        f"manager: {dn} is not a provisioned Webex user; provision the manager first or put them in scope"
    )


def desired_user(  # noqa: PLR0912 - the hot path of a full cycle: plain rules inline
    user: DirectoryUser,
    mapping: CompiledMapping,
    *,
    manager_ids: Mapping[str, str],
    pending_dns: Container[str] = frozenset(),
) -> Desired:
    """Compute the desired Webex attributes of ``user``.

    ``manager_ids`` maps normalized DNs of linked users to their Webex ids; ``pending_dns`` holds
    normalized DNs of users that this cycle is about to provision.
    """
    result: dict[str, str] = {}
    pending_manager: str | None = None
    attributes, undecodable = user.attributes, user.undecodable
    try:
        for key, name, trim, limit, rule in mapping.steps:
            if name is not None and not (undecodable and name in undecodable):
                found = attributes.get(name)
                if found is None:
                    continue  # no value, no default
                if len(found) == 1:
                    text = found[0].strip() if trim else found[0]
                    if text:
                        if limit is not None and len(text) > limit:
                            raise _UnmappableError(
                                f"{key}: value is {len(text)} characters, Webex accepts at most {limit}"
                            )
                        result[key] = text
                    continue
            value = _rule_value(user, key, rule, mapping)
            if value is None:
                continue
            if key == "manager":
                manager_id, pending = _manager_id(value, rule, manager_ids, pending_dns)
                if pending:
                    pending_manager = value
                if manager_id is None:
                    continue
                value = manager_id
            elif key == "avatar":
                _check_avatar(value)
            if limit is not None and len(value) > limit:
                raise _UnmappableError(
                    f"{key}: value is {len(value)} characters, Webex accepts at most {limit}"
                )
            result[key] = value
    except _UnmappableError as exc:
        return Desired(attributes=result, problem=str(exc))
    problem = _email_problem(result.get("email"), mapping)
    if problem is not None:
        return Desired(attributes=result, problem=problem)
    result.setdefault("externalId", user.anchor)
    return Desired(attributes=result, pending_manager=pending_manager)


def _email_problem(email: str | None, mapping: CompiledMapping) -> str | None:
    """Why ``email`` cannot be a Webex userName, or ``None`` when it can."""
    if email is None:
        source = mapping.rules["email"].source or "the email rule"
        return f"email: no value ({source} is empty); the user cannot be matched"
    hidden = next((c for c in email if unicodedata.category(c) in _HIDDEN_CATEGORIES), None)
    if hidden is not None:
        return (
            f"email: {email!r} holds {_character(hidden)}, a control or format character that no "
            "e-mail address has; fix the entry in the directory"
        )
    if not _is_address(email):
        return f"email: {email!r} is not an e-mail address"
    return None


def _character(char: str) -> str:
    """``U+200B (ZERO WIDTH SPACE)``: a character named without printing it."""
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}" + (f" ({name})" if name else "")


def _is_address(email: str) -> bool:
    """``local@domain.tld``: one ``@``, no blank, a dot inside the domain. Linear in the length
    (no regular expression to backtrack on a hostile value)."""
    local, _, domain = email.partition("@")
    return bool(local) and "@" not in domain and "." in domain[1:-1] and not any(c.isspace() for c in email)


class PackedAttributes(Mapping[str, str]):
    """Attributes kept as two tuples, names and values (a third of a dict's memory): the desired
    users a cycle is about to create, 100,000 of them in a first cycle. ``names`` tuples are
    shared between users with the same names (see ``pack``)."""

    __slots__ = ("_names", "_values")

    def __init__(self, names: tuple[str, ...], values: tuple[str, ...]) -> None:
        self._names = names
        self._values = values

    def __getitem__(self, key: str) -> str:
        try:
            return self._values[self._names.index(key)]
        except ValueError:
            raise KeyError(key) from None

    def __contains__(self, key: object) -> bool:
        return key in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __repr__(self) -> str:
        return f"PackedAttributes({dict(zip(self._names, self._values, strict=True))!r})"


def pack(attributes: Mapping[str, str], names: dict[tuple[str, ...], tuple[str, ...]]) -> PackedAttributes:
    """``attributes`` packed, its names tuple shared through ``names`` (one per set of names)."""
    keys = tuple(attributes)
    return PackedAttributes(names.setdefault(keys, keys), tuple(attributes.values()))


def create_only_keys(mapping: CompiledMapping) -> frozenset[str]:
    """Attributes set at creation and never updated afterwards."""
    return frozenset(k for k, r in mapping.rules.items() if r.create_only)
