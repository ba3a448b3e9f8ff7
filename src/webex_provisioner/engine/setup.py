"""``init``: from a few answers and what the directory says, a configuration that works.

``connect`` binds and reads the root DSE; ``choices`` turns a ``Discovery`` and the answers into
the file's content (the preset of the server found, its naming context or the given base DN, the
user filter that finds users, the disabled marking in use, a scope group); ``write`` refuses to
replace a file unless forced; ``check_file`` runs what ``check`` runs on the written file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from webex_provisioner.config import DirectoryConfig, load_config
from webex_provisioner.config.transport import is_loopback, url_host
from webex_provisioner.config.writer import SetupChoices, candidate_lines, config_text, validated
from webex_provisioner.directory.discovery import SCOPE_HINTS, Discoverer, Discovery, GroupCandidate
from webex_provisioner.engine import operations
from webex_provisioner.engine.wiring import open_engine
from webex_provisioner.errors import ConfigError, ProvisionerError


@dataclass(frozen=True, slots=True)
class Answers:
    """What ``init`` asks for (or takes as options and variables)."""

    directory_url: str
    bind_dn: str | None
    bind_password: str | None
    webex_org_id: str
    webex_url: str
    output: Path
    base_dn: str | None = None
    start_tls: bool = False
    ca_file: Path | None = None


def with_transport(answers: Answers, *, start_tls: bool, ca_file: Path | None) -> Answers:
    """The answers with StartTLS on when asked, or when a bind to another machine would send its
    password in clear over ``ldap://`` (the file says so too), and the private CA to trust."""
    url = answers.directory_url
    clear = url.lower().startswith("ldap://") and bool(answers.bind_dn) and not is_loopback(url_host(url))
    return replace(answers, start_tls=start_tls or clear, ca_file=ca_file)


def directory_config(answers: Answers) -> DirectoryConfig:
    """The connection settings of the answers (``ConfigError`` for a malformed URL or DN)."""
    raw: dict[str, Any] = {
        "url": answers.directory_url,
        "bind_dn": answers.bind_dn or None,
        "bind_password": answers.bind_password,
        "base_dn": answers.base_dn or "",
        "timeout": 15,
        "start_tls": answers.start_tls,
        "ca_file": answers.ca_file,
    }
    try:
        return DirectoryConfig.model_validate(raw)
    except ValueError as exc:
        raise ConfigError([_first_error(exc)]) from None


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "directory"
        return f"{where}: {str(first['msg']).removeprefix('Value error, ')}"
    return str(exc)


def suggested_group(groups: Sequence[GroupCandidate]) -> GroupCandidate | None:
    """The largest group whose name says it is for Webex (``SCOPE_HINTS``), if any."""
    return next((g for g in groups if any(h in g.name.lower() for h in SCOPE_HINTS)), None)


def found_lines(found: Discovery) -> tuple[str, ...]:
    """What was found, as the file's header comment says it."""
    root = found.root
    classes = ", ".join(f"{c.label} {c.count}" for c in found.user_classes)
    marks = ", ".join(f"{c.filter} {c.count}" for c in found.disabled)
    return (
        f"Found: {root.vendor} ({root.vendor_version}), directory.type {root.kind}",
        f"  naming contexts: {'; '.join(root.naming_contexts) or 'none listed'}",
        f"  under {found.base_dn}: {classes}; {found.users} user(s), {found.with_mail} with mail",
        f"  disabled marks: {marks}",
        f"  change detection: {found.change_detection}",
        f"  content sync: {'yes' if found.content_sync else 'no'}; DirSync: {found.dirsync}",
    )


def choices(found: Discovery, answers: Answers, scope: GroupCandidate | None) -> SetupChoices:
    """The file's content: the discovered type and filters, ``scope`` (or everyone), and the
    state and audit log next to the file."""
    folder = answers.output.resolve().parent
    others = [(g.dn, g.members) for g in found.groups if scope is None or g.dn != scope.dn]
    marked = next((m for m in found.disabled if m.filter == found.disabled_filter), None)
    note = f"{marked.label}: {marked.count} user(s) now" if marked else "no disabled marking found"
    return SetupChoices(
        directory_type=found.root.kind,
        url=answers.directory_url,
        bind_dn=answers.bind_dn or None,
        base_dn=found.base_dn,
        user_filter=found.user_filter,
        disabled_filter=found.disabled_filter,
        scope_groups=(scope.dn,) if scope is not None else (),
        webex_org_id=answers.webex_org_id,
        webex_url=answers.webex_url,
        state=f"sqlite:///{folder / 'webex-provisioner.db'}",
        audit_log=str(folder / "audit.log"),
        found=found_lines(found),
        other_groups=(("other candidates, by size:", *candidate_lines(others)) if others else ()),
        disabled_note=note,
        start_tls=answers.start_tls,
        ca_file=str(answers.ca_file.resolve()) if answers.ca_file else None,
    )


def render(choice: SetupChoices) -> str:
    """The file's text, checked to load (``ConfigError`` otherwise: a bug, never written)."""
    text = config_text(choice)
    validated(text)
    return text


def write(path: Path, text: str, *, force: bool) -> None:
    """Write ``text`` to ``path``; an existing file is replaced only with ``force``."""
    if path.exists() and not force:
        raise ConfigError([f"{path} exists; pass --force to replace it, or --output another file"])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def check_file(path: Path, env: Mapping[str, str]) -> tuple[dict[str, Any], bool]:
    """``check`` on the written file, with the secrets given in ``env``."""
    config = load_config(path, env)
    try:
        with open_engine(config, read_only=True) as engine:
            return operations.check(engine)
    except ProvisionerError as exc:
        return {"error": exc.message}, False


__all__ = ["Answers", "Discoverer", "choices", "directory_config", "render", "suggested_group", "write"]
