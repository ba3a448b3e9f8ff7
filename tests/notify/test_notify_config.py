"""``notify:`` as the configuration takes it: defaults, the three channels, cleartext only to
this machine (unless notify.allow_insecure), errors naming the key and the fix, secrets masked."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from webex_provisioner.config import Config, parse_config
from webex_provisioner.config.notify import is_loopback
from webex_provisioner.engine.wiring import config_secrets
from webex_provisioner.errors import ConfigError

BASE: dict[str, Any] = {
    "directory": {"url": "ldap://ldap.example.com", "base_dn": "dc=example,dc=com"},
    "webex": {"org_id": "3f1c0a4e-0000-4000-8000-000000000001", "token": "webex-token"},
}
ENV = {
    "HOOK_TOKEN": "hook-token-1234",
    "SMTP_USER": "sync",
    "SMTP_PASSWORD": "smtp-pass-5678",
    "BOT": "bot-9876",
}
ISSUE_EXAMPLE: dict[str, Any] = {
    "events": ["failed", "held", "user_failures"],
    "repeat_after": "24h",
    "webhook": {
        "url": "https://hooks.example.com/webex-provisioner",
        "headers": {"Authorization": "Bearer ${HOOK_TOKEN}"},
    },
    "email": {
        "smtp": "smtp://mail.example.com:587",
        "starttls": True,
        "username": "${SMTP_USER}",
        "password": "${SMTP_PASSWORD}",
        "from": "webex-provisioner@example.com",
        "to": ["identity-team@example.com"],
    },
    "webex": {"room_id": "Y2lzY29zcGFyazovL3VzL1JPT00vYWJj", "token": "${BOT}"},
}


def config(notify: dict[str, Any]) -> Config:
    return parse_config({**BASE, "notify": notify}, ENV)


def problems(notify: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as raised:
        config(notify)
    return "\n".join(raised.value.problems)


def test_the_example_of_the_docs_validates_with_its_defaults() -> None:
    """All three channels; the defaults: events failed and held, repeat_after 24h, timeout 10s,
    STARTTLS on smtp:// (port 587)."""
    notify = config(ISSUE_EXAMPLE).notify
    assert notify is not None and notify.channels == ("webhook", "email", "webex")
    assert notify.repeat_after == timedelta(hours=24)
    assert notify.email is not None and notify.email.port == 587 and notify.email.cleartext_host is None
    defaults = config({"webex": {"room_id": "r", "token": "t"}}).notify
    assert defaults is not None and defaults.events == ["failed", "held"]
    assert (defaults.repeat_after, defaults.timeout) == (timedelta(hours=24), timedelta(seconds=10))
    assert parse_config(BASE, {}).notify is None


@pytest.mark.parametrize(
    ("notify", "fragment"),
    [
        (
            {"webhook": {"url": "http://hooks.example.com/x"}},
            "webhook.url sends to hooks.example.com without TLS",
        ),
        (
            {
                "email": {
                    "smtp": "smtp://mail.example.com",
                    "starttls": False,
                    "from": "a@x.io",
                    "to": ["b@x.io"],
                }
            },
            "email.smtp sends to mail.example.com without TLS",
        ),
    ],
)
def test_cleartext_to_another_machine_is_refused_unless_allowed(
    notify: dict[str, Any], fragment: str
) -> None:
    """An http:// webhook or SMTP without TLS to a host that is not loopback is refused, saying
    how to fix it; notify.allow_insecure: true accepts it."""
    found = problems(notify)
    assert fragment in found and "notify.allow_insecure: true" in found
    assert config({**notify, "allow_insecure": True}).notify is not None


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "127.0.0.53"])
def test_cleartext_to_this_machine_is_accepted(host: str) -> None:
    """http:// and SMTP without TLS are fine on a loopback host (a local relay, a test receiver)."""
    notify = config(
        {
            "webhook": {"url": f"http://{host}:8080/hook"},
            "email": {"smtp": f"smtp://{host}:25", "starttls": False, "from": "a@x.io", "to": ["b@x.io"]},
        }
    ).notify
    assert notify is not None and notify.email is not None and notify.email.port == 25


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.10.20.30", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LocalHost.", True),
        ("app.localhost", True),
        ("10.0.0.1", False),
        ("0.0.0.0", False),  # noqa: S104 - a value under test, nothing binds
        ("example.com", False),
        ("127.0.0.1.nip.io", False),
        ("localhost.example.com", False),
        ("", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    """Loopback is localhost (and *.localhost), 127.0.0.0/8 and ::1; a name that merely looks
    like one is not."""
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(
    ("notify", "fragment"),
    [
        ({}, "set at least one channel"),
        ({"webex": {"room_id": "r", "token": "t"}, "events": ["held", "vacation"]}, "notify.events[1]"),
        ({"webhook": {"url": "ftp://hooks.example.com"}}, "must be an https:// URL"),
        ({"webhook": {"url": "https://user:pw@hooks.example.com"}}, "credentials in the URL are refused"),
        (
            {"webhook": {"url": "https://h.example.com", "headers": {"Bad Header": "x"}}},
            "not an HTTP header name",
        ),
        ({"webhook": {"url": "https://h.example.com", "headers": {"X-A": "a\r\nX-B: b"}}}, "line break"),
        ({"email": {"smtp": "mail.example.com", "from": "a@x.io", "to": ["b@x.io"]}}, "must be smtp://HOST"),
        ({"email": {"smtp": "smtps://m.example.com", "from": "a@x.io", "to": []}}, "notify.email.to"),
        (
            {"email": {"smtp": "smtps://m.example.com", "from": "nobody", "to": ["b@x.io"]}},
            "not an e-mail address",
        ),
        (
            {"email": {"smtp": "smtps://m.example.com", "from": "a@x.io", "to": ["b@x.io"], "username": "u"}},
            "give both username and password",
        ),
        ({"webex": {"room_id": "r", "token": "t"}, "repeat_after": "10s"}, "give at least 1m"),
        ({"webex": {"room_id": "r", "token": "t"}, "timeout": "5m"}, "between 0.1s and 60s"),
    ],
)
def test_a_bad_notify_section_names_the_key_and_the_fix(notify: dict[str, Any], fragment: str) -> None:
    """Each mistake is reported with its key and what to do."""
    assert fragment in problems(notify)


def test_notify_secrets_are_masked_everywhere() -> None:
    """Header values, the SMTP password and the bot token never show in the configuration's
    repr, and are among the secrets the logs mask (the bare token of 'Bearer <token>' too)."""
    loaded = config(ISSUE_EXAMPLE)
    for secret in ("hook-token-1234", "smtp-pass-5678", "bot-9876"):
        assert secret not in repr(loaded) and secret not in str(loaded.notify)
        assert secret in config_secrets(loaded)
