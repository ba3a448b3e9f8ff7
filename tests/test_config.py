"""Configuration: ${VAR} references, defaults, and every problem reported at once with its key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from webex_provisioner.config import load_config, parse_config, parse_duration
from webex_provisioner.errors import ConfigError
from webex_provisioner.model import Deprovision

ORG = "3f1c0a4e-0000-4000-8000-000000000001"


def minimal(**overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "directory": {"url": "ldap://127.0.0.1:3389", "base_dn": "ou=people,dc=example,dc=com"},
        "webex": {"org_id": ORG, "token": "${WEBEX_TOKEN}"},
    }
    raw.update(overrides)
    return raw


def test_minimal_config_gets_documented_defaults() -> None:
    """A config with only the required keys validates and gets the documented defaults."""
    config = parse_config(minimal(), {"WEBEX_TOKEN": "t0ken-value"})
    assert config.webex.token is not None and config.webex.token.get_secret_value() == "t0ken-value"
    assert config.directory.anchor == "entryUUID"
    assert config.provisioning.on_deleted is Deprovision.DISABLE
    assert config.state == "sqlite:///webex-provisioner.db"
    assert config.mapping["email"].source == "mail"


def test_env_default_syntax() -> None:
    """${VAR:-default} falls back to the default when VAR is unset."""
    raw = minimal()
    raw["webex"]["url"] = "${WEBEX_URL:-http://127.0.0.1:9999}"
    assert parse_config(raw, {"WEBEX_TOKEN": "abcd"}).webex.url == "http://127.0.0.1:9999"


def test_every_problem_is_reported_at_once_with_its_key() -> None:
    """Unknown keys, wrong types, missing keys, bad filters, bad templates and unset variables
    are all reported in one error, each naming its key."""
    raw = {
        "directory": {
            "url": "http://wrong",
            "base_dn": "ou=people,dc=example,dc=com",
            "user_filter": "(objectClass=inetOrgPerson",
            "page_size": "many",
            "colour": "blue",
        },
        "webex": {"org_id": "not-a-uuid", "token": "${MISSING_TOKEN}"},
        "mapping": {"email": "mail", "displayName": "{{ broken"},
        "provisioning": {"on_deleted": "explode"},
    }
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, {})
    problems = "\n".join(caught.value.problems)
    for fragment in (
        "webex.token: environment variable MISSING_TOKEN is not set",
        "directory.url:",
        "directory.user_filter:",
        "directory.page_size:",
        "directory.colour: unknown key",
        "webex.org_id:",
        "mapping:",
        "provisioning.on_deleted:",
    ):
        assert fragment in problems
    assert len(caught.value.problems) >= 8


def test_missing_required_section_is_named() -> None:
    """A missing webex section is reported as a missing key."""
    with pytest.raises(ConfigError, match="webex: required key is missing"):
        parse_config({"directory": minimal()["directory"]}, {})


def test_scope_takes_groups_or_filter_not_both() -> None:
    """scope.groups and scope.filter exclude each other."""
    raw = minimal()
    raw["directory"]["scope"] = {"groups": ["cn=a,dc=example,dc=com"], "filter": "(a=b)"}
    with pytest.raises(ConfigError, match=r"either scope\.groups or scope\.filter"):
        parse_config(raw, {"WEBEX_TOKEN": "abcd"})


def test_one_webex_credential_required() -> None:
    """webex needs exactly one of token, token_file or oauth."""
    raw = minimal()
    del raw["webex"]["token"]
    with pytest.raises(ConfigError, match=r"give one of webex\.token"):
        parse_config(raw, {})


def test_secrets_do_not_appear_in_repr() -> None:
    """The bind password and token are masked in the config's repr."""
    raw = minimal()
    raw["directory"]["bind_password"] = "s3cret-bind"
    config = parse_config(raw, {"WEBEX_TOKEN": "s3cret-token"})
    assert "s3cret" not in repr(config)


def test_load_config_reports_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    """A missing file and invalid YAML are configuration errors that name the file."""
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("directory: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_load_config_reads_yaml(tmp_path: Path) -> None:
    """load_config reads and validates a YAML file."""
    file = tmp_path / "c.yaml"
    file.write_text(
        yaml.safe_dump(minimal(provisioning={"delete_after": "30d", "protected": ["ceo@example.com"]}))
    )
    config = load_config(file, {"WEBEX_TOKEN": "abcd"})
    assert config.provisioning.delete_after is not None
    assert config.provisioning.delete_after.days == 30


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("15m", 900), ("12h", 43200), ("2w", 1209600), (5, 5)]
)
def test_durations(text: object, seconds: int) -> None:
    """Durations accept s, m, h, d, w suffixes and plain seconds."""
    assert parse_duration(text).total_seconds() == seconds


def test_bad_duration_says_how_to_write_it() -> None:
    """A malformed duration explains the accepted forms."""
    with pytest.raises(ValueError, match="write it like"):
        parse_duration("soon")


def test_drift_is_off_without_its_section_and_takes_the_documented_defaults_with_it() -> None:
    """No drift: means no check; drift: alone (or {}) gives check full, attributes repair,
    deactivated report, deleted recreate, groups and licences repair; an unknown value or key is
    refused with its key."""
    assert parse_config(minimal(), {"WEBEX_TOKEN": "t"}).drift is None
    for section in (None, {}):
        drift = parse_config(minimal(drift=section), {"WEBEX_TOKEN": "t"}).drift
        assert drift is not None and drift.model_dump() == {
            "check": "full",
            "attributes": "repair",
            "deactivated": "report",
            "deleted": "recreate",
            "groups": "repair",
            "licenses": "repair",
        }
    with pytest.raises(ConfigError) as caught:
        parse_config(minimal(drift={"deactivated": "undo", "colour": "red"}), {"WEBEX_TOKEN": "t"})
    assert any(p.startswith("drift.deactivated") for p in caught.value.problems)
    assert any(p.startswith("drift.colour") for p in caught.value.problems)
