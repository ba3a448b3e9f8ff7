"""Secrets never travel in clear to another machine unless the configuration says so on purpose
(``allow_insecure``), and what is accepted is said at every start and by ``check``; PostgreSQL
defaults to a verified TLS connection; passwords in URLs never show."""

from __future__ import annotations

from typing import Any

import pytest
from structlog.testing import capture_logs

from tests.test_config import minimal
from webex_provisioner.config import parse_config
from webex_provisioner.config.risks import accepted_insecure
from webex_provisioner.config.transport import is_loopback
from webex_provisioner.engine import operations
from webex_provisioner.engine.wiring import Engine, open_engine
from webex_provisioner.errors import ConfigError
from webex_provisioner.state.postgres import driver_url
from webex_provisioner.testing.directory import InMemoryDirectory
from webex_provisioner.testing.state import InMemoryStateStore
from webex_provisioner.testing.webex import InMemoryWebex

ENV = {"WEBEX_TOKEN": "t0ken-value"}
PASSWORD = "hunter2-state-pw"


def config_with(**sections: Any) -> Any:
    raw = minimal(**{k: v for k, v in sections.items() if k not in ("directory", "webex")})
    raw["directory"].update(sections.get("directory", {}))
    raw["webex"].update(sections.get("webex", {}))
    return parse_config(raw, ENV)


def problems_of(**sections: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        config_with(**sections)
    return "\n".join(caught.value.problems)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("::ffff:127.0.0.1", True),
        ("localhost", True),
        ("LOCALHOST.", True),
        ("128.0.0.1", False),
        ("10.0.0.1", False),
        ("localhost.example.com", False),
        ("ldap.example.com", False),
        ("", False),
    ],
)
def test_loopback_is_127_8_ipv6_one_and_localhost(host: str, loopback: bool) -> None:
    """The loopback is 127.0.0.0/8, ::1 (IPv4-mapped too) and localhost; nothing else."""
    assert is_loopback(host) is loopback


BIND = {"bind_dn": "cn=sync,dc=example,dc=com", "bind_password": "s3cret-bind"}


def test_a_cleartext_ldap_bind_to_another_host_is_refused_with_the_fix() -> None:
    """ldap:// to another host with a bind password and no StartTLS is a configuration error
    naming directory.start_tls, ldaps:// and directory.allow_insecure; the password is not shown."""
    problems = problems_of(directory={"url": "ldap://ldap.example.com", **BIND})
    assert problems.startswith("directory: ldap://ldap.example.com is plain LDAP")
    assert "directory.start_tls: true" in problems and "ldaps://" in problems
    assert "directory.allow_insecure: true" in problems and "s3cret" not in problems


@pytest.mark.parametrize(
    "directory",
    [
        {"url": "ldaps://ldap.example.com", **BIND},
        {"url": "ldap://ldap.example.com", "start_tls": True, **BIND},
        {"url": "ldap://127.0.0.1:389", **BIND},
        {"url": "ldap://[::1]:389", **BIND},
        {"url": "ldap://localhost", **BIND},
        {"url": "ldapi://%2Frun%2Fslapd%2Fldapi", **BIND},
        {"url": "ldap://ldap.example.com"},  # anonymous: no secret travels
        {"url": "ldap://ldap.example.com", "allow_insecure": True, **BIND},
    ],
)
def test_directory_connections_that_keep_the_password_safe_or_say_so_are_accepted(
    directory: dict[str, Any],
) -> None:
    """TLS, StartTLS, the loopback, a Unix socket, an anonymous read, or allow_insecure."""
    config_with(directory=directory)


def test_cleartext_http_to_another_host_is_refused_with_the_fix() -> None:
    """An http:// webex.url to another host is a configuration error naming https:// and
    webex.allow_insecure; to the loopback (an emulator) or with allow_insecure it is accepted."""
    problems = problems_of(webex={"url": "http://webex.example.com"})
    assert problems.startswith("webex: http://webex.example.com is plain HTTP")
    assert "https://" in problems and "webex.allow_insecure: true" in problems
    for url in (
        "http://127.0.0.1:8080",
        "http://localhost:8080",
        "http://[::1]:8080",
        "https://webex.example",
    ):
        config_with(webex={"url": url})
    config_with(webex={"url": "http://webex.example.com", "allow_insecure": True})


@pytest.mark.parametrize("mode", ["disable", "allow", "prefer", "require"])
def test_a_postgres_state_without_certificate_check_is_refused(mode: str) -> None:
    """A PostgreSQL state on another host with an sslmode that does not verify the server is a
    configuration error naming sslmode=verify-full and state_allow_insecure; the password in the
    URL is never shown."""
    url = f"postgresql://webex:{PASSWORD}@db.example.com/webex?sslmode={mode}"
    problems = problems_of(state=url)
    assert problems.startswith(f"state: sslmode={mode} does not verify")
    assert "sslmode=verify-full" in problems and "state_allow_insecure: true" in problems
    assert PASSWORD not in problems
    config_with(state=url, state_allow_insecure=True)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://webex@db.example.com/webex",  # verify-full is added
        "postgresql://webex@db.example.com/webex?sslmode=verify-full",
        "postgresql://webex@db.example.com/webex?sslmode=verify-ca",
        "postgresql://webex@127.0.0.1:5432/webex?sslmode=disable",
        "postgresql://webex@/webex?host=/run/postgresql&sslmode=disable",
        "postgresql+psycopg://webex@localhost/webex",
    ],
)
def test_postgres_states_that_verify_or_stay_local_are_accepted(url: str) -> None:
    """Verified TLS, no sslmode (the default is verify-full), the loopback, a Unix socket."""
    config_with(state=url)


@pytest.mark.parametrize(
    ("url", "sslmode"),
    [
        ("postgresql://w@db.example.com/webex", "verify-full"),
        ("postgresql://w@db.example.com/webex?sslmode=verify-ca", "verify-ca"),
        ("postgresql://w@db.example.com/webex?sslmode=require", "require"),
        ("postgresql://w@/webex?host=db1.example.com,db2.example.com", "verify-full"),
        ("postgresql://w@127.0.0.1/webex", None),
        ("postgresql://w@localhost:5433/webex", None),
        ("postgresql://w@/webex?host=/run/postgresql", None),
    ],
)
def test_postgres_defaults_to_verify_full_for_another_host(url: str, sslmode: str | None) -> None:
    """A URL to another host without sslmode is opened with sslmode=verify-full; an explicit one
    is kept; the loopback and Unix sockets keep libpq's default."""
    assert driver_url(url).query.get("sslmode") == sslmode


def test_accepted_risks_are_warned_at_every_start_and_listed_by_check() -> None:
    """Each allow_insecure that lets a secret travel in clear is logged as a warning naming the
    key when the engine opens, and listed under check's warnings; a key that changes nothing
    (allow_insecure with TLS) is not."""
    config = config_with(
        directory={"url": "ldap://ldap.example.com", "allow_insecure": True, **BIND},
        webex={"url": "http://webex.example.com", "allow_insecure": True},
        state="sqlite://",
    )
    assert set(accepted_insecure(config)) == {"directory.allow_insecure", "webex.allow_insecure"}
    with capture_logs() as logs, open_engine(config, read_only=True):
        pass
    warned = {e["key"]: e["detail"] for e in logs if e["event"] == "config.insecure"}
    assert set(warned) == {"directory.allow_insecure", "webex.allow_insecure"}
    assert "bind password travels in clear" in warned["directory.allow_insecure"]
    assert all(e["log_level"] == "warning" for e in logs if e["event"] == "config.insecure")
    engine = Engine(config, InMemoryDirectory(), InMemoryWebex(), InMemoryStateStore(), None)
    result, _ok = operations.check(engine)
    assert set(result["warnings"]) == {"directory.allow_insecure", "webex.allow_insecure"}
    secure = config_with(directory={"url": "ldaps://ldap.example.com", "allow_insecure": True, **BIND})
    assert accepted_insecure(secure) == {}


def test_state_passwords_never_show_in_errors_or_repr() -> None:
    """The PostgreSQL password is masked in a configuration error about the state URL and in
    the repr of the configuration (and of its sections)."""
    problems = problems_of(state=f"mysql://webex:{PASSWORD}@db.example.com/webex")
    assert "mysql://webex:***@db.example.com/webex" in problems and PASSWORD not in problems
    config = config_with(
        state=f"postgresql://webex:{PASSWORD}@db.example.com/webex?sslmode=verify-full",
        webex={"url": f"https://user:{PASSWORD}@webex.example.com"},
    )
    assert PASSWORD not in repr(config) and PASSWORD not in str(config)
    assert "postgresql://webex:***@db.example.com/webex" in repr(config)


def test_a_configured_token_a_header_cannot_carry_is_refused() -> None:
    """webex.token with an inner line break is a configuration error naming the key and the
    character, never the token; surrounding blanks (a trailing newline) are fine."""
    problems = problems_of(webex={"token": "first-half\nsecond-half"})
    assert problems.startswith("webex.token: the token cannot be sent: it holds U+000A at character 11")
    assert "half" not in problems
    config_with(webex={"token": "one-line-token\n"})
