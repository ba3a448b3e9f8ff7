"""The configuration the docs show is the configuration the code accepts, and every key of it is
documented in docs/configuration.md.

Every YAML block of docs/*.md is either a whole configuration (it has ``directory:`` and
``webex:``), validated as it stands, or a fragment of one, marked by the HTML comment
``<!-- configuration fragment -->`` on the line before it and validated merged into a minimal
configuration. ``${VAR}`` references get dummy values; the files a block names (``ca_file``,
``token_file``) are made to exist.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from tests.docs.markdown_text import DOCS, Block, code_spans, fenced_blocks, relative, sections
from webex_provisioner.config import Config, parse_config
from webex_provisioner.errors import ConfigError
from webex_provisioner.rules.mapping import WEBEX_ATTRIBUTES, MappingRule

CONFIGURATION = DOCS / "configuration.md"
FRAGMENT = "configuration fragment"
MINIMAL: dict[str, Any] = {
    "directory": {"url": "ldap://ldap.example.com", "base_dn": "dc=example,dc=com"},
    "webex": {"org_id": "3f1c0a4e-0000-4000-8000-000000000001", "token": "dummy-token"},
}
ANY = "*"
"""A path segment standing for any key (the Webex attributes of ``mapping:``)."""
WRITTEN_AS: dict[tuple[type[BaseModel], str], str] = {(MappingRule, "source"): "from"}
"""Fields the configuration spells otherwise (``MappingRule.parse`` turns ``from`` into ``source``)."""

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")


def yaml_blocks() -> list[tuple[Path, Block]]:
    return [
        (path, block)
        for path in sorted(DOCS.glob("*.md"))
        for block in fenced_blocks(path.read_text(encoding="utf-8"))
        if block.info.split()[:1] in (["yaml"], ["yml"])
    ]


def block_id(item: tuple[Path, Block]) -> str:
    return f"{item[0].name}:{item[1].line}"


def deep_merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def with_existing_files(raw: Any, file: Path) -> Any:
    """``raw`` with every ``*_file`` path (a CA, a token file) pointing at a file that exists."""
    if isinstance(raw, dict):
        return {
            k: str(file) if str(k).endswith("_file") and isinstance(v, str) else with_existing_files(v, file)
            for k, v in raw.items()
        }
    if isinstance(raw, list):
        return [with_existing_files(v, file) for v in raw]
    return raw


@pytest.mark.parametrize("item", yaml_blocks(), ids=block_id)
def test_yaml_block_is_a_valid_configuration(item: tuple[Path, Block], tmp_path: Path) -> None:
    """A YAML block of the docs validates with parse_config: as a whole configuration, or merged
    into a minimal one when it is marked as a fragment. An unmarked partial block fails."""
    path, block = item
    where = f"{relative(path)} line {block.line}"
    raw = yaml.safe_load(block.text)
    assert isinstance(raw, dict), f"{where}: the YAML block is not a mapping"
    fragment = block.comment is not None and FRAGMENT in block.comment
    if not fragment:
        assert {"directory", "webex"} <= set(raw), (
            f"{where}: the YAML block is not a whole configuration (directory: and webex:); "
            f"if it is part of one, put <!-- {FRAGMENT} --> on the line before it"
        )
    else:
        raw = deep_merge(MINIMAL, raw)
    file = tmp_path / "named-by-the-example.pem"
    file.write_text("-----BEGIN CERTIFICATE-----\n", encoding="utf-8")
    env = {name: f"dummy-{name.lower()}" for name in _ENV_REF.findall(block.text)}
    try:
        parse_config(with_existing_files(raw, file), env)
    except ConfigError as exc:
        problems = "\n  ".join(exc.problems)
    else:
        problems = ""
    assert not problems, f"{where}: the example does not validate:\n  {problems}"


def test_there_is_a_complete_example() -> None:
    """docs/configuration.md shows at least one whole configuration."""
    whole = [
        block
        for path, block in yaml_blocks()
        if path == CONFIGURATION and {"directory", "webex"} <= set(yaml.safe_load(block.text) or {})
    ]
    assert whole, "docs/configuration.md has no YAML block with directory: and webex:"


# -- every key documented ---------------------------------------------------------------------


def nested(annotation: Any) -> Iterator[tuple[str | None, type[BaseModel]]]:
    """The models inside a field's type: (None, model) for a model, (ANY, model) for the values
    of a dict or the items of a list."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield None, annotation
        return
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        for arg in args:
            yield from nested(arg)
    elif origin in (dict, Mapping) and len(args) == 2:
        for _, model in nested(args[1]):
            yield ANY, model
    elif origin in (list, tuple, set, frozenset):
        for arg in args:
            for _, model in nested(arg):
                yield ANY, model


def config_keys(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every key the configuration model accepts, as a path (``("directory", "scope", "groups")``)."""
    for name, field in model.model_fields.items():
        key = WRITTEN_AS.get((model, name), field.alias or name)
        path = (*prefix, key)
        yield path
        for segment, inner in nested(field.annotation):
            if segment is not None:
                yield (*path, segment)
            yield from config_keys(inner, path if segment is None else (*path, segment))
        if free_form(field.annotation):
            yield (*path, ANY)


def free_form(annotation: Any) -> bool:
    """Whether a field is a mapping of names the user chooses to plain values (HTTP headers)."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(free_form(arg) for arg in args)
    return origin in (dict, Mapping) and len(args) == 2 and not list(nested(args[1]))


_COMMENTED_KEY = re.compile(r"^(?P<indent>\s*)# (?P<more>\s*)(?P<rest>[A-Za-z_]\w*:(\s|$).*)$")


def uncommented(text: str) -> str:
    """A YAML block with the keys it shows commented out (``# tls_verify: false``) put back."""
    return "\n".join(
        f"{m['indent']}{m['more']}{m['rest']}" if (m := _COMMENTED_KEY.match(line)) else line
        for line in text.splitlines()
    )


def yaml_paths(raw: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    if isinstance(raw, dict):
        for key, value in raw.items():
            path = (*prefix, str(key))
            yield path
            yield from yaml_paths(value, path)
    elif isinstance(raw, list):
        for value in raw:
            yield from yaml_paths(value, (*prefix, ANY))


_DOTTED = re.compile(r"^([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)")
_KEY_IN_CODE = re.compile(r"(?:^|[{,]\s*)([A-Za-z_]\w*)(?=\s*:|\s*$|\s*[,}])")


def documented_paths(text: str) -> set[tuple[str, ...]]:
    """The keys the doc shows: at their place in its YAML blocks (commented-out ones included),
    and as dotted paths in its inline code (`directory.read_process`)."""
    paths: set[tuple[str, ...]] = set()
    for block in fenced_blocks(text):
        if block.info.split()[:1] not in (["yaml"], ["yml"]):
            continue
        for candidate in (uncommented(block.text), block.text):
            try:
                raw = yaml.safe_load(candidate)
            except yaml.YAMLError:
                continue
            paths.update(yaml_paths(raw))
            break
    for code in code_spans(text):
        dotted = _DOTTED.match(code)
        if dotted:
            paths.add(tuple(dotted[1].split(".")))
    return paths


def keys_in_section(text: str, top: str) -> set[str]:
    """Keys named in inline code (`default`, `case: lower`, `{from: ATTR}`) under the headings
    that name the top-level key ``top`` (## Mapping rules)."""
    names: set[str] = set()
    for section in sections(text):
        if re.search(rf"\b{re.escape(top)}\b", section.title, re.I):
            for code in code_spans(section.text):
                names.update(_KEY_IN_CODE.findall(code))
    return names


def is_documented(path: tuple[str, ...], shown: set[tuple[str, ...]], text: str) -> bool:
    for candidate in shown:
        if len(candidate) == len(path) and all(p in (ANY, c) for p, c in zip(path, candidate, strict=True)):
            return True
    # A key of the rules of a free-form mapping (mapping.<attribute>.<key>) may instead be
    # described in the section about it, and so may the keys of any other rule (groups.name.<key>).
    if path[:1] != ("mapping",) and path[-1] in RULE_KEYS:
        return path[-1] in keys_in_section(text, "mapping")
    return ANY in path and path[-1] != ANY and path[-1] in keys_in_section(text, path[0])


RULE_KEYS = {WRITTEN_AS.get((MappingRule, name), name) for name in MappingRule.model_fields}
"""The keys of a mapping rule, as the configuration writes them."""


def test_every_configuration_key_is_documented() -> None:
    """Every key of the Config model (walked recursively: sections, their sub-sections, the keys
    of a mapping rule) is shown in docs/configuration.md, in a YAML example at its place or as
    its dotted path in inline code (the keys of a mapping rule: in the Mapping section)."""
    text = CONFIGURATION.read_text(encoding="utf-8")
    shown = documented_paths(text)
    missing = [
        ".".join(path)
        for path in config_keys(Config)
        if path[-1] != ANY and not is_documented(path, shown, text)
    ]
    assert not missing, "docs/configuration.md does not document:\n  " + "\n  ".join(missing)


@pytest.mark.parametrize("item", yaml_blocks(), ids=block_id)
def test_yaml_block_shows_only_real_keys(item: tuple[Path, Block]) -> None:
    """Every key a YAML block of the docs shows, commented-out ones included (``# tls_verify:
    false``), is a key of the Config model: a renamed key cannot linger in a comment."""
    path, block = item
    keys = set(config_keys(Config))
    raw = yaml.safe_load(uncommented(block.text))
    unknown = sorted(
        ".".join(shown)
        for shown in yaml_paths(raw)
        if not any(
            len(k) == len(shown) and all(a in (ANY, b) for a, b in zip(k, shown, strict=True)) for k in keys
        )
    )
    assert not unknown, (
        f"{relative(path)} line {block.line} shows keys the configuration does not have: {unknown}"
    )


_RANGE = re.compile(r"`(?P<name>[A-Za-z]+)(?P<first>\d+)`\s*(?:…|\.\.\.)\s*`(?P=name)(?P<last>\d+)`")


def listed_webex_attributes(text: str) -> set[str]:
    """The attributes of the paragraph 'Webex attributes: `email`, ...', with a range written
    `extensionAttribute1` … `extensionAttribute15` expanded."""
    paragraphs = re.split(r"\n\s*\n", text)
    listing = next((p for p in paragraphs if p.startswith("Webex attributes:")), "")
    names: set[str] = set()
    for match in _RANGE.finditer(listing):
        names.update(f"{match['name']}{i}" for i in range(int(match["first"]), int(match["last"]) + 1))
    names.update(re.findall(r"`([A-Za-z]\w*)`", _RANGE.sub("", listing)))
    return names


def test_the_webex_attributes_listed_are_the_ones_a_mapping_takes() -> None:
    """The keys a mapping: may set (the Webex attributes) are exactly those docs/configuration.md
    lists after 'Webex attributes:'."""
    listed = listed_webex_attributes(CONFIGURATION.read_text(encoding="utf-8"))
    assert listed, "docs/configuration.md has no paragraph starting 'Webex attributes:'"
    missing = sorted(set(WEBEX_ATTRIBUTES) - listed)
    unknown = sorted(listed - set(WEBEX_ATTRIBUTES))
    assert not missing and not unknown, (
        f"docs/configuration.md's 'Webex attributes:' lacks {missing} and names {unknown}, "
        "which a mapping does not take"
    )
