"""``notify:``: who is told when something needs an operator, and how (docs/notifications.md).

Three channels, each optional: a webhook (JSON over HTTPS), e-mail (SMTP with STARTTLS or
SMTPS) and a message in a Webex space. Cleartext (an ``http://`` webhook, SMTP without TLS) is
accepted for a loopback host only, unless ``notify.allow_insecure`` says otherwise.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from webex_provisioner.config.transport import is_loopback
from webex_provisioner.config.values import Duration, parse_duration

Event = Literal["failed", "held", "user_failures", "recovered", "drift"]
DEFAULT_EVENTS: tuple[Event, ...] = ("failed", "held")

_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_ADDRESS = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")
_SMTP_PORTS = {("smtps", True): 465, ("smtps", False): 465, ("smtp", True): 587, ("smtp", False): 25}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class WebhookChannel(_Section):
    """``notify.webhook``: a JSON POST to ``url``, with ``headers`` (their values are secrets)."""

    url: str
    headers: dict[str, SecretStr] = Field(default_factory=dict)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value!r} must be an https:// URL (http:// only for this machine)")
        if parts.username or parts.password:
            raise ValueError("credentials in the URL are refused; send them in notify.webhook.headers")
        return value.strip()

    @field_validator("headers")
    @classmethod
    def _header_names(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        bad = sorted(name for name in value if not _HEADER_NAME.match(name))
        if bad:
            raise ValueError(f"{', '.join(map(repr, bad))} is not an HTTP header name")
        for name, secret in value.items():
            if any(c in secret.get_secret_value() for c in "\r\n"):
                raise ValueError(f"the value of header {name} holds a line break")
        return value

    @property
    def cleartext_host(self) -> str | None:
        """The host this channel would reach without TLS (``None``: TLS is used)."""
        parts = urlsplit(self.url)
        return parts.hostname if parts.scheme == "http" else None


class EmailChannel(_Section):
    """``notify.email``: a message through an SMTP server (STARTTLS on ``smtp://``, or ``smtps://``)."""

    smtp: str
    starttls: bool = True
    username: str | None = None
    password: SecretStr | None = None
    sender: str = Field(alias="from")
    to: list[str] = Field(min_length=1)

    @field_validator("smtp")
    @classmethod
    def _smtp_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        try:
            parts.port  # noqa: B018 - raises ValueError for a port out of range
        except ValueError:
            raise ValueError(f"{value!r} has an invalid port") from None
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname or parts.path not in ("", "/"):
            raise ValueError(f"{value!r} must be smtp://HOST[:PORT] (STARTTLS) or smtps://HOST[:PORT]")
        if parts.username or parts.password:
            raise ValueError("credentials in the URL are refused; set notify.email.username and password")
        return value.strip()

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        return _address(value)

    @field_validator("to")
    @classmethod
    def _recipients(cls, value: list[str]) -> list[str]:
        return [_address(v) for v in value]

    @model_validator(mode="after")
    def _login(self) -> EmailChannel:
        if (self.username is None) != (self.password is None):
            raise ValueError("give both username and password, or neither")
        return self

    @property
    def host(self) -> str:
        return urlsplit(self.smtp).hostname or ""

    @property
    def implicit_tls(self) -> bool:
        """``smtps://``: TLS from the first byte (``starttls`` does not apply)."""
        return urlsplit(self.smtp).scheme == "smtps"

    @property
    def port(self) -> int:
        parts = urlsplit(self.smtp)
        return parts.port or _SMTP_PORTS[(parts.scheme, self.starttls)]

    @property
    def cleartext_host(self) -> str | None:
        return None if self.implicit_tls or self.starttls else self.host


class WebexChannel(_Section):
    """``notify.webex``: a markdown message in a Webex space, posted to ``{webex.url}/v1/messages``."""

    room_id: str = Field(min_length=1)
    token: SecretStr


class NotifyConfig(_Section):
    """``notify:``: which events are told, how often, and through which channels."""

    events: list[Event] = Field(default_factory=lambda: list(DEFAULT_EVENTS))
    repeat_after: Duration = timedelta(hours=24)
    timeout: Duration = timedelta(seconds=10)
    ca_file: Path | None = None
    allow_insecure: bool = False
    webhook: WebhookChannel | None = None
    email: EmailChannel | None = None
    webex: WebexChannel | None = None

    @field_validator("repeat_after", "timeout", mode="before")
    @classmethod
    def _duration(cls, value: object) -> timedelta:
        return parse_duration(value)

    @field_validator("timeout")
    @classmethod
    def _short(cls, value: timedelta) -> timedelta:
        if not 0.1 <= value.total_seconds() <= 60:
            raise ValueError("give a timeout between 0.1s and 60s (a channel never holds a cycle longer)")
        return value

    @field_validator("repeat_after")
    @classmethod
    def _not_too_often(cls, value: timedelta) -> timedelta:
        if value.total_seconds() < 60:
            raise ValueError("give at least 1m (an unresolved condition is sent again this often)")
        return value

    @field_validator("ca_file")
    @classmethod
    def _ca_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"no file at {value}; give the path of the PEM file of your CA")
        return value

    @model_validator(mode="after")
    def _channels(self) -> NotifyConfig:
        if self.webhook is None and self.email is None and self.webex is None:
            raise ValueError("set at least one channel (webhook, email or webex), or remove notify:")
        problems = self.cleartext_problems()
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def cleartext_problems(self) -> list[str]:
        """The channels that would send in clear text to another machine, unless allowed."""
        if self.allow_insecure:
            return []
        found = []
        for key, channel in (("webhook.url", self.webhook), ("email.smtp", self.email)):
            host = channel.cleartext_host if channel is not None else None
            if host is not None and not is_loopback(host):
                found.append(
                    f"{key} sends to {host} without TLS (messages and credentials in clear text); "
                    "use https:// (webhook) or STARTTLS/smtps:// (e-mail), or set notify.allow_insecure: "
                    "true to accept it"
                )
        return found

    def secrets(self) -> list[str]:
        """Every secret of the channels (header values, the SMTP password, the bot token), for masking."""
        found = [value.get_secret_value() for value in self.webhook.headers.values()] if self.webhook else []
        if self.email is not None and self.email.password is not None:
            found.append(self.email.password.get_secret_value())
        if self.webex is not None:
            found.append(self.webex.token.get_secret_value())
        found += [part for value in list(found) for part in value.split()[1:]]  # "Bearer <token>"
        return found

    @property
    def channels(self) -> tuple[str, ...]:
        """The configured channels, by name."""
        return tuple(name for name in ("webhook", "email", "webex") if getattr(self, name) is not None)


def _address(value: str) -> str:
    text = value.strip()
    if not _ADDRESS.match(text):
        raise ValueError(f"{value!r} is not an e-mail address")
    return text
