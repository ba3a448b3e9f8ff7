"""``init`` without a server: the file it writes (commented, ${VAR} for the secrets, valid), the
choices it makes from what it found, and what it refuses before contacting anything."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from tests.init.helpers import init
from webex_provisioner.config.writer import SetupChoices, config_text, validated
from webex_provisioner.directory.discovery import Count, Discovery, GroupCandidate, Root, suggested_base
from webex_provisioner.engine import setup
from webex_provisioner.errors import ConfigError

ORG = "3f1c0a4e-0000-4000-8000-000000000001"
ROOT = Root("OpenLDAP", "2.6", "openldap", ("dc=example,dc=com",), "dc=example,dc=com")
GROUPS = (
    GroupCandidate("cn=everyone,ou=groups,dc=example,dc=com", "everyone", 900),
    GroupCandidate("cn=Webex-Users,ou=groups,dc=example,dc=com", "Webex-Users", 41),
    GroupCandidate("cn=sales,ou=groups,dc=example,dc=com", "sales", 10),
)
FOUND = Discovery(
    root=ROOT,
    base_dn="dc=example,dc=com",
    user_classes=(Count("inetOrgPerson", "(objectClass=inetOrgPerson)", 64),),
    user_filter="(objectClass=inetOrgPerson)",
    users=64,
    with_mail=63,
    anchor="entryUUID",
    groups=GROUPS,
    content_sync=True,
    dirsync="no",
    change_detection="content sync (RFC 4533)",
    disabled=(Count("pwdAccountLockedTime (the ppolicy overlay's lock)", "(pwdAccountLockedTime=*)", 3),),
    disabled_filter="(pwdAccountLockedTime=*)",
)
ANSWERS = setup.Answers(
    "ldaps://ldap.example.com",
    "cn=sync,ou=services,dc=example,dc=com",
    "the-bind-password",
    ORG,
    "https://webexapis.com",
    Path("/etc/webex-provisioner/webex-provisioner.yaml"),
)


def test_the_file_is_commented_valid_and_holds_no_secret() -> None:
    """The text validates as a configuration; secrets are ${LDAP_PASSWORD} and ${WEBEX_TOKEN};
    the password itself is nowhere; each choice is commented; state and audit log sit next to
    the file; the suggested scope is the group named for Webex, the others listed as comments."""
    text = setup.render(setup.choices(FOUND, ANSWERS, setup.suggested_group(FOUND.groups)))
    config = validated(text, {"LDAP_PASSWORD": "x", "WEBEX_TOKEN": "y"})

    assert "the-bind-password" not in text
    assert 'bind_password: "${LDAP_PASSWORD}"' in text and 'token: "${WEBEX_TOKEN}"' in text
    assert config.directory.type == "openldap" and config.directory.base_dn == "dc=example,dc=com"
    assert config.directory.scope.groups == ["cn=Webex-Users,ou=groups,dc=example,dc=com"]
    assert config.directory.disabled_filter == "(pwdAccountLockedTime=*)"
    assert config.state == "sqlite:////etc/webex-provisioner/webex-provisioner.db"
    assert str(config.logging.audit_log) == "/etc/webex-provisioner/audit.log"
    assert "# Found: OpenLDAP (2.6), directory.type openldap" in text
    assert '#     groups: ["cn=everyone,ou=groups,dc=example,dc=com"]  # 900 members' in text
    assert (
        "(pwdAccountLockedTime=*)\"  # pwdAccountLockedTime (the ppolicy overlay's lock): 3 user(s) now"
        in text
    )
    assert set(config.mapping) == {"email", "firstName", "lastName", "displayName"}


def test_anonymous_and_everyone_in_scope_is_written_too() -> None:
    """No bind DN: no bind_password key; no group: every user under base_dn; no disabled marking:
    a comment saying so."""
    found = replace(FOUND, groups=(), disabled_filter=None)
    answers = setup.Answers("ldap://127.0.0.1", None, None, ORG, "https://webexapis.com", Path("x.yaml"))
    text = setup.render(setup.choices(found, answers, None))
    config = validated(text)
    assert config.directory.bind_dn is None and "\n  bind_password:" not in text
    assert config.directory.scope.groups == [] and config.directory.disabled_filter is None
    assert "# disabled_filter: none found" in text.replace("#   ", "# ")


def test_values_that_need_quoting_survive() -> None:
    """A DN with an escaped comma and quotes, a filter full of YAML's special characters: the file
    reads back exactly what was chosen."""
    choices = SetupChoices(
        directory_type="activedirectory",
        url="ldap://dc1.example.test",
        start_tls=True,
        bind_dn='CN=Sync\\, Service,OU=Svc \\"A\\",DC=example,DC=test',
        base_dn="DC=example,DC=test",
        user_filter="(&(objectCategory=person)(objectClass=user)(!(cn=#*)))",
        disabled_filter="(userAccountControl:1.2.840.113556.1.4.803:=2)",
        scope_groups=("CN=Webex: all,OU=Groups,DC=example,DC=test",),
        webex_org_id=ORG,
        webex_url="https://webexapis.com",
        state="sqlite:///state.db",
        audit_log="audit.log",
        found=("vendor: a # not a comment\nnew line",),
    )
    config = validated(config_text(choices))
    assert config.directory.bind_dn == choices.bind_dn and config.directory.user_filter == choices.user_filter
    assert config.directory.scope.groups == list(choices.scope_groups)
    assert "manager" in config.mapping  # the AD preset's mapping


@pytest.mark.parametrize(
    ("dse", "kind", "expected"),
    [
        ({"namingcontexts": ["cn=config", "dc=example,dc=com"]}, "openldap", "dc=example,dc=com"),
        ({"namingcontexts": ["o=NetscapeRoot", "dc=corp,dc=example"]}, "389ds", "dc=corp,dc=example"),
        (
            {"namingcontexts": ["DC=ForestDnsZones,DC=x,DC=test"], "defaultnamingcontext": ["DC=x,DC=test"]},
            "activedirectory",
            "DC=x,DC=test",
        ),
        ({"namingcontexts": ["cn=config"]}, "openldap", None),
    ],
)
def test_the_suggested_base_is_the_naming_context_that_holds_data(
    dse: dict[str, list[str]], kind: str, expected: str | None
) -> None:
    """AD's default naming context; else the first that is not the server's own configuration."""
    assert suggested_base(dse, kind) == expected


def test_the_suggested_scope_is_the_largest_group_named_for_webex() -> None:
    """A group named for Webex is suggested; without one, none (everyone under the base DN)."""
    assert setup.suggested_group(GROUPS) == GROUPS[1]
    assert setup.suggested_group(GROUPS[::2]) is None


def test_an_existing_file_is_never_replaced_without_force(tmp_path: Path) -> None:
    """init refuses an existing file before asking or contacting anything (exit 2); the file is
    unchanged."""
    output = tmp_path / "webex-provisioner.yaml"
    output.write_text("directory: {}\n")
    result = init({}, output, "--directory-url", "ldap://127.0.0.1:1", "--webex-org-id", ORG)
    assert result.exit_code == 2 and "pass --force" in result.output
    assert output.read_text() == "directory: {}\n"
    with pytest.raises(ConfigError, match="--force"):
        setup.write(output, "x", force=False)
    setup.write(output, "replaced\n", force=True)
    assert output.read_text() == "replaced\n"


def test_without_a_terminal_what_is_missing_is_named_and_nothing_is_written(tmp_path: Path) -> None:
    """Non-interactive without --directory-url, --webex-org-id and $WEBEX_TOKEN: exit 2 naming
    them all (the secrets as variables, never as options); no file."""
    output = tmp_path / "out.yaml"
    result = init({}, output, "--bind-dn", "cn=admin,dc=example,dc=com")
    assert result.exit_code == 2
    for name in ("--directory-url", "--webex-org-id", "$LDAP_PASSWORD", "$WEBEX_TOKEN"):
        assert name in result.output
    assert not output.exists()


def test_no_secret_is_an_option() -> None:
    """init takes no password or token option: secrets come from the environment only."""
    from webex_provisioner.cli import cli

    options = {opt for param in cli.commands["init"].params for opt in getattr(param, "opts", [])}
    assert not {o for o in options if "password" in o or "token" in o or "secret" in o}


def test_the_yaml_is_plain_yaml() -> None:
    """The file is YAML a person can read: keys in order, one per line."""
    text = config_text(setup.choices(FOUND, ANSWERS, None))
    assert list(yaml.safe_load(text)) == ["directory", "webex", "mapping", "safety", "logging", "state"]


@pytest.mark.parametrize(
    ("url", "bind_dn", "start_tls"),
    [
        ("ldap://dc1.example.test", "cn=sync,dc=example,dc=test", True),
        ("ldap://127.0.0.1:389", "cn=sync,dc=example,dc=test", False),
        ("ldap://dc1.example.test", None, False),
        ("ldaps://dc1.example.test", "cn=sync,dc=example,dc=test", False),
    ],
)
def test_a_bind_to_another_machine_over_plain_ldap_uses_start_tls(
    url: str, bind_dn: str | None, start_tls: bool
) -> None:
    """init never sends a bind password in clear to another machine: over ldap:// it turns
    StartTLS on (for its own connection and in the file); loopback, anonymous and ldaps:// stay."""
    answers = setup.Answers(url, bind_dn, "pw", ORG, "https://webexapis.com", Path("x.yaml"))
    assert setup.with_transport(answers, start_tls=False, ca_file=None).start_tls is start_tls
