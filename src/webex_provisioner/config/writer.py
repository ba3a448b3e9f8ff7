"""The commented configuration ``init`` writes (docs/cli.md, ``init``). Pure: text in, text out.

``config_text`` turns a ``SetupChoices`` into a YAML file with a comment on every choice (what
was found, what else there is); secrets are always ``${LDAP_PASSWORD}`` and ``${WEBEX_TOKEN}``
references, never values. ``validated`` parses the text as ``load_config`` would, so that a
file that would not load is never written.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import yaml

from webex_provisioner.config.loading import parse_config
from webex_provisioner.config.presets import PRESETS
from webex_provisioner.config.schema import Config

PASSWORD_VARIABLE = "LDAP_PASSWORD"  # noqa: S105 - the name of a variable, not a password
TOKEN_VARIABLE = "WEBEX_TOKEN"  # noqa: S105 - the name of a variable
PLACEHOLDERS = {PASSWORD_VARIABLE: "placeholder", TOKEN_VARIABLE: "placeholder"}


@dataclass(frozen=True, slots=True)
class SetupChoices:
    """Everything ``init`` decided, and the notes it leaves in the file."""

    directory_type: str
    url: str
    bind_dn: str | None
    base_dn: str
    user_filter: str
    disabled_filter: str | None
    scope_groups: tuple[str, ...]
    webex_org_id: str
    webex_url: str
    state: str
    audit_log: str
    found: tuple[str, ...] = ()
    """Lines describing the directory (for the header comment)."""
    other_groups: tuple[str, ...] = ()
    """Other candidate groups, as comment lines under scope."""
    disabled_note: str = ""
    start_tls: bool = False
    ca_file: str | None = None


@dataclass(frozen=True, slots=True)
class _Lines:
    lines: list[str] = field(default_factory=list)

    def add(self, text: str = "", comment: str = "") -> None:
        """A line: ``text``, with ``comment`` after it, or a comment line, or an empty line."""
        if text and comment:
            self.lines.append(f"{text}  # {_one_line(comment)}")
        elif comment:
            self.lines.append("# " + " ".join(comment.splitlines()).rstrip())
        else:
            self.lines.append(text)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _q(value: str) -> str:
    """A YAML scalar holding exactly ``value`` (a JSON string is a valid YAML one)."""
    return json.dumps(value, ensure_ascii=False)


def _mapping_lines(mapping: Mapping[str, object]) -> list[str]:
    return [
        f"  {key}: {_q(rule) if isinstance(rule, str) else json.dumps(rule)}" for key, rule in mapping.items()
    ]


def config_text(choices: SetupChoices) -> str:
    """The configuration file, commented."""
    out = _Lines()
    out.add(comment="webex-provisioner configuration, written by 'webex-provisioner init'.")
    out.add(comment="Secrets are read from the environment: export LDAP_PASSWORD and WEBEX_TOKEN.")
    out.add(
        comment="Every key: docs/configuration.md. Next: 'webex-provisioner plan' shows what a sync would do."
    )
    out.lines.append("#")
    for line in choices.found:
        out.add(comment=line)
    out.add()
    _directory(out, choices)
    out.add()
    out.add("webex:")
    out.add(f"  org_id: {_q(choices.webex_org_id)}", "the organization UUID (Control Hub)")
    out.add(f"  url: {_q(choices.webex_url)}")
    out.add(f"  token: {_q('${' + TOKEN_VARIABLE + '}')}", "read from the environment, never written here")
    out.add()
    out.add("mapping:", f"the {choices.directory_type} preset's; a Webex attribute per line")
    preset = PRESETS[choices.directory_type]
    out.lines.extend(_mapping_lines(preset.mapping))
    out.add('  # avatar: "https://photos.example.com/{{ uid }}.jpg"', "a photo URL Webex fetches")
    out.add()
    out.add("safety:")
    out.add("  max_deprovisions: {count: 50, percent: 10}", "more in one cycle are held for approval")
    out.add()
    out.add("logging:")
    out.add(f"  audit_log: {_q(choices.audit_log)}")
    out.add()
    out.add(f"state: {_q(choices.state)}")
    out.add()
    out.add(comment="notify:  # be told when deprovisions are held or a cycle fails (docs/notifications.md)")
    out.add(comment='  webex: {room_id: "...", token: "${WEBEX_BOT_TOKEN}"}')
    return "\n".join(out.lines) + "\n"


def _directory(out: _Lines, choices: SetupChoices) -> None:
    preset = PRESETS[choices.directory_type]
    out.add("directory:")
    out.add(f"  type: {_q(choices.directory_type)}", f"{preset.title}: fills the keys left out")
    out.add(f"  url: {_q(choices.url)}")
    if choices.start_tls:
        out.add("  start_tls: true", "the bind password never travels in clear")
    if choices.ca_file:
        out.add(f"  ca_file: {_q(choices.ca_file)}", "the CA that signed the directory's certificate")
    if choices.bind_dn:
        out.add(f"  bind_dn: {_q(choices.bind_dn)}")
        out.add(f"  bind_password: {_q('${' + PASSWORD_VARIABLE + '}')}", "read from the environment")
    else:
        out.add(comment="  bind_dn: (anonymous bind; set bind_dn and bind_password: ${LDAP_PASSWORD})")
    out.add(f"  base_dn: {_q(choices.base_dn)}")
    same = choices.user_filter == preset.directory.get("user_filter")
    out.add(
        f"  user_filter: {_q(choices.user_filter)}", "the preset's" if same else "what this directory holds"
    )
    if choices.disabled_filter:
        out.add(f"  disabled_filter: {_q(choices.disabled_filter)}", choices.disabled_note)
    else:
        note = choices.disabled_note or "set one if users are disabled"
        out.add(comment=f"  disabled_filter: none found; {note}")
    out.add("  scope:", "groups OR filter; neither: every user under base_dn")
    if choices.scope_groups:
        out.add(f"    groups: [{', '.join(_q(g) for g in choices.scope_groups)}]")
        out.add("    nested_groups: true")
    else:
        out.add("    groups: []", "every user under base_dn is in scope")
    for line in choices.other_groups:
        out.add(comment=f"    {line}")


def validated(text: str, env: Mapping[str, str] | None = None) -> Config:
    """The configuration ``text`` holds, as ``load_config`` would read it (``ConfigError``
    otherwise); ``env`` defaults to placeholders for the secrets' variables."""
    return parse_config(yaml.safe_load(text), PLACEHOLDERS if env is None else env)


def candidate_lines(groups: Sequence[tuple[str, int]]) -> tuple[str, ...]:
    """Comment lines listing other candidate groups: ``groups: ["DN"]  # N members``."""
    return tuple(f"groups: [{_q(dn)}]  # {count} members" for dn, count in groups)
