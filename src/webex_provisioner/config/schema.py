"""The configuration's sections as pydantic models: every key, its default and its checks.

Each model forbids unknown keys; a ``directory.type`` preset fills the directory keys (and the
mapping) the file leaves out before validation (``config.presets``). docs/configuration.md
documents every key (a test checks it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from webex_provisioner.config.drift import DriftConfig
from webex_provisioner.config.groups import GroupsConfig
from webex_provisioner.config.ldap_filter import check_filter
from webex_provisioner.config.licenses import LicensesConfig
from webex_provisioner.config.notify import NotifyConfig
from webex_provisioner.config.presets import fill_directory, fill_mapping, type_problem
from webex_provisioner.config.transport import http_cleartext, ldap_cleartext, postgres_cleartext
from webex_provisioner.config.values import (
    Duration,
    check_dn,
    header_problem,
    listen_address,
    mask_url,
    parse_duration,
)
from webex_provisioner.model import Deprovision
from webex_provisioner.rules.mapping import MappingRule, compile_mapping


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """The fields, a password in a URL (``state``, ``url``) masked."""
        for name, value in super().__repr_args__():
            yield name, mask_url(value) if isinstance(value, str) and "://" in value else value


class ScopeConfig(_Section):
    groups: list[str] = Field(default_factory=list)
    nested_groups: bool = True
    filter: str | None = None

    @field_validator("groups")
    @classmethod
    def _groups_are_dns(cls, groups: list[str]) -> list[str]:
        return [check_dn(g) for g in groups]

    @field_validator("filter")
    @classmethod
    def _filter_is_ldap(cls, value: str | None) -> str | None:
        return None if value is None else check_filter(value)

    @model_validator(mode="after")
    def _one_kind(self) -> ScopeConfig:
        if self.groups and self.filter:
            raise ValueError("set either scope.groups or scope.filter, not both")
        return self


class DirectoryConfig(_Section):
    type: Literal["openldap", "activedirectory", "389ds", "pingdirectory", "generic"] = "openldap"
    url: str
    bind_dn: str | None = None
    bind_password: SecretStr | None = None
    base_dn: str
    user_filter: str = "(objectClass=inetOrgPerson)"
    anchor: str = "entryUUID"
    scope: ScopeConfig = Field(default_factory=ScopeConfig)
    disabled_filter: str | None = None
    group_filter: str = "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))"
    member_attributes: list[str] = Field(default_factory=lambda: ["member", "uniqueMember"])
    page_size: int = Field(default=500, ge=1, le=100_000)
    timeout: float = Field(default=30.0, gt=0)
    start_tls: bool = False
    ca_file: Path | None = None
    tls_verify: bool = True
    change_detection: Literal["auto", "content_sync", "timestamp", "dirsync", "usn", "none"] = "auto"
    timestamp_overlap: Duration = timedelta(seconds=60)
    read_process: bool | Literal["auto"] = "auto"
    """Full reads in a process of their own (two cores for reading and planning); ``auto``: when
    the engine may use two processors or more."""
    allow_insecure: bool = False
    """Accept sending the bind password in clear (``ldap://`` without StartTLS to another host)."""

    @field_validator("timestamp_overlap", mode="before")
    @classmethod
    def _overlap(cls, value: object) -> timedelta:
        return parse_duration(value)

    @model_validator(mode="before")
    @classmethod
    def _preset(cls, raw: object) -> object:
        """``type`` fills the keys the configuration leaves out (config/presets.py)."""
        return fill_directory(raw)

    @model_validator(mode="after")
    def _fits_type(self) -> DirectoryConfig:
        problem = type_problem(self.type, self.change_detection)
        if problem:
            raise ValueError(problem)
        return self

    @field_validator("url")
    @classmethod
    def _ldap_url(cls, value: str) -> str:
        if not value.startswith(("ldap://", "ldaps://", "ldapi://")):
            raise ValueError(f"{mask_url(value)!r} must start with ldap://, ldaps:// or ldapi://")
        return value

    @model_validator(mode="after")
    def _not_in_clear(self) -> DirectoryConfig:
        binds = self.bind_password is not None and bool(self.bind_password.get_secret_value())
        reason = ldap_cleartext(self.url, start_tls=self.start_tls, binds=binds)
        if reason is not None and not self.allow_insecure:
            raise ValueError(
                f"{reason}; use ldaps://, or set directory.start_tls: true, or (only on a network you "
                "trust) set directory.allow_insecure: true, which logs a warning at every start"
            )
        return self

    @field_validator("base_dn", "bind_dn")
    @classmethod
    def _dn(cls, value: str | None) -> str | None:
        return None if value is None else check_dn(value)

    @field_validator("user_filter", "disabled_filter", "group_filter")
    @classmethod
    def _filter(cls, value: str | None) -> str | None:
        return None if value is None else check_filter(value)

    @field_validator("ca_file")
    @classmethod
    def _ca_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"no file at {value}; give the path of the PEM file of your CA")
        return value


class OAuthConfig(_Section):
    client_id: str
    client_secret: SecretStr
    refresh_token: SecretStr


class WebexConfig(_Section):
    org_id: str
    url: str = "https://webexapis.com"
    token: SecretStr | None = None
    token_file: Path | None = None
    oauth: OAuthConfig | None = None
    concurrency: int = Field(default=8, ge=1, le=64)
    timeout: float = Field(default=30.0, gt=0)
    max_retries: int = Field(default=5, ge=0, le=50)
    max_retry_wait: float = Field(default=120.0, gt=0)
    bulk: bool | Literal["auto"] = "auto"
    """Creates in SCIM Bulk requests: always (``true``), never (``false``), or when a cycle has at
    least ``BULK_AUTO_FROM`` of them (``auto``)."""
    ca_file: Path | None = None
    tls_verify: bool = True
    max_response_bytes: int = Field(default=64 * 1024 * 1024, ge=65_536)
    allow_insecure: bool = False
    """Accept sending the token in clear (``http://`` to another host than this machine)."""

    @field_validator("org_id")
    @classmethod
    def _uuid(cls, value: str) -> str:
        if not re.fullmatch(
            r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", value
        ):
            raise ValueError(
                f"{value!r} is not an organization UUID; SCIM paths take the UUID form "
                "(Control Hub shows it; a base64 'Y2lz...' id must be decoded first)"
            )
        return value.lower()

    @field_validator("token")
    @classmethod
    def _token_fits_a_header(cls, value: SecretStr | None) -> SecretStr | None:
        problem = None if value is None else header_problem(value.get_secret_value().strip())
        if problem is not None:
            raise ValueError(
                f"the token cannot be sent: {problem} (check the variable or file it comes from)"
            )
        return value

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(
                f"{mask_url(value)!r} must start with https:// (or http:// for a local emulator)"
            )
        return value.rstrip("/")

    @model_validator(mode="after")
    def _not_in_clear(self) -> WebexConfig:
        reason = http_cleartext(self.url)
        if reason is not None and not self.allow_insecure:
            raise ValueError(
                f"{reason}; use https://, or (only on a network you trust, e.g. to an emulator) set "
                "webex.allow_insecure: true, which logs a warning at every start"
            )
        return self

    @model_validator(mode="after")
    def _one_credential(self) -> WebexConfig:
        given = [k for k in ("token", "token_file", "oauth") if getattr(self, k) is not None]
        if not given:
            raise ValueError("give one of webex.token, webex.token_file or webex.oauth")
        if len(given) > 1:
            raise ValueError(
                f"give only one of webex.token, webex.token_file or webex.oauth (got {', '.join(given)})"
            )
        return self


class ProvisioningConfig(_Section):
    create: bool = True
    update: bool = True
    deprovision: bool = True
    provision_disabled: bool = False
    on_deleted: Deprovision = Deprovision.DISABLE
    on_disabled: Deprovision = Deprovision.DISABLE
    on_left_scope: Deprovision = Deprovision.DISABLE
    protected: list[str] = Field(default_factory=list)
    delete_after: Duration | None = None

    @field_validator("delete_after", mode="before")
    @classmethod
    def _duration(cls, value: object) -> object:
        return None if value is None else parse_duration(value)


class DeprovisionLimit(_Section):
    count: int | None = Field(default=50, ge=0)
    percent: float | None = Field(default=10.0, ge=0, le=100)


class SafetyConfig(_Section):
    max_deprovisions: DeprovisionLimit = Field(default_factory=DeprovisionLimit)
    min_users: int = Field(default=1, ge=0)


class ScheduleConfig(_Section):
    """``schedule:``: when ``run`` cycles, and where it serves /healthz and /metrics (docs/daemon.md)."""

    interval: Duration = timedelta(seconds=60)
    full_every: Duration = timedelta(hours=24)
    listen: str | None = "127.0.0.1:9464"
    persist: Literal["auto"] | bool = "auto"
    batch_delay: Duration = timedelta(seconds=0.5)

    @field_validator("interval", "full_every", "batch_delay", mode="before")
    @classmethod
    def _duration(cls, value: object) -> timedelta:
        return parse_duration(value)

    @field_validator("persist", mode="before")
    @classmethod
    def _persist(cls, value: object) -> object:
        if value == "auto" or isinstance(value, bool):
            return value
        raise ValueError(f"{value!r} is not auto, true or false")

    @field_validator("interval", "full_every")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value.total_seconds() < 1:
            raise ValueError(f"{value.total_seconds():g}s is too short; give at least 1s")
        return value

    @field_validator("batch_delay")
    @classmethod
    def _short(cls, value: timedelta) -> timedelta:
        if not 0 <= value.total_seconds() <= 60:
            raise ValueError("give a delay between 0s and 60s (a change waits this long for others)")
        return value

    @field_validator("listen")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is not None:
            listen_address(value)
        return value

    def listen_at(self) -> tuple[str, int] | None:
        """(host, port) to serve /healthz and /metrics on, or ``None`` when ``listen`` is null."""
        return None if self.listen is None else listen_address(self.listen)


class LoggingConfig(_Section):
    format: Literal["console", "json"] = "console"
    level: Literal["debug", "info", "warning", "error"] = "info"
    audit_log: Path | None = Path("audit.log")


class HaConfig(_Section):
    """``ha:``: several ``run`` instances on one state store, one active (docs/high-availability.md)."""

    takeover_after: Duration = timedelta(seconds=30)

    @field_validator("takeover_after", mode="before")
    @classmethod
    def _duration(cls, value: object) -> timedelta:
        return parse_duration(value)

    @field_validator("takeover_after")
    @classmethod
    def _long_enough(cls, value: timedelta) -> timedelta:
        if value.total_seconds() < 3:
            raise ValueError(
                f"{value.total_seconds():g}s is too short to tell a dead instance from a slow one; "
                "give 3s or more"
            )
        return value

    @property
    def poll_seconds(self) -> float:
        """How often a standby tries to take over (and instances announce themselves)."""
        return min(5.0, self.takeover_after.total_seconds() / 6)

    @property
    def lease_seconds(self) -> float:
        """How long the active instance's lease lasts without a renewal: a standby takes over
        within ``takeover_after`` of the active one dying (lease + one poll)."""
        return self.takeover_after.total_seconds() - self.poll_seconds


class Config(_Section):
    directory: DirectoryConfig
    webex: WebexConfig
    mapping: dict[str, MappingRule] = Field(
        default_factory=lambda: {
            "email": MappingRule(source="mail"),
            "firstName": MappingRule(source="givenName"),
            "lastName": MappingRule(source="sn"),
            "displayName": MappingRule(source="displayName"),
        }
    )
    provisioning: ProvisioningConfig = Field(default_factory=ProvisioningConfig)
    safety: SafetyConfig = Field(default_factory=SafetyConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    ha: HaConfig = Field(default_factory=HaConfig)
    groups: GroupsConfig | None = None
    licenses: LicensesConfig | None = None
    drift: DriftConfig | None = None
    """Absent: no drift check. ``drift:`` with nothing under it: the defaults."""
    state_allow_insecure: bool = False
    """Accept a PostgreSQL ``state`` whose ``sslmode`` does not verify the server's certificate
    (before ``state``, whose check reads it)."""
    notify: NotifyConfig | None = None
    state: str = "sqlite:///webex-provisioner.db"

    @model_validator(mode="before")
    @classmethod
    def _preset_mapping(cls, raw: object) -> object:
        """Without a ``mapping:``, the one of ``directory.type`` (config/presets.py)."""
        return fill_mapping(raw)

    @field_validator("mapping", mode="before")
    @classmethod
    def _rules(cls, value: object) -> object:
        if not isinstance(value, Mapping):
            return value
        return {key: MappingRule.parse(rule) for key, rule in value.items()}

    @field_validator("mapping")
    @classmethod
    def _compile(cls, value: dict[str, MappingRule]) -> dict[str, MappingRule]:
        compile_mapping(value)  # raises ValueError naming the mapping key and the fix
        return value

    @field_validator("drift", mode="before")
    @classmethod
    def _drift_defaults(cls, value: object) -> object:
        """``drift:`` alone (no value) turns the check on with every default."""
        return {} if value is None else value

    @field_validator("state")
    @classmethod
    def _state_url(cls, value: str, info: ValidationInfo) -> str:
        if not value.startswith(("sqlite://", "postgresql://", "postgresql+psycopg://", "postgres://")):
            raise ValueError(f"{mask_url(value)!r} must be sqlite:///PATH or postgresql://USER@HOST/DB")
        reason = postgres_cleartext(value)
        if reason is not None and not info.data.get("state_allow_insecure"):
            raise ValueError(
                f"{reason}; use sslmode=verify-full (the default for a host other than this machine, "
                "with sslrootcert=/path/to/ca.pem or sslrootcert=system), or (only on a network you "
                "trust) set state_allow_insecure: true, which logs a warning at every start"
            )
        return value

    def directory_attributes(self) -> list[str]:
        """The directory attributes the mapping reads (plus the anchor)."""
        names = {self.directory.anchor}
        for rule in self.mapping.values():
            names.update(rule.attributes())
        return sorted(names, key=str.lower)

    def license_labels(self) -> list[str]:
        """The labels the directory puts on users for the licence rules (none without ``licenses:``)."""
        return self.licenses.labels() if self.licenses is not None else []
