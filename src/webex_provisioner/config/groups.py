"""``groups:``: which directory groups are pushed to Webex, and how (docs/groups.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from webex_provisioner.config.ldap_filter import check_filter
from webex_provisioner.config.values import check_dn
from webex_provisioner.rules.mapping import MappingRule

AD_SECURITY_GROUPS = "(groupType:1.2.840.113556.1.4.803:=2147483648)"
"""Active Directory security groups (groupType bit 0x80000000, with LDAP_MATCHING_RULE_BIT_AND)."""

MAX_MEMBERS_PER_REQUEST = 500
"""The most members Webex lists in one group resource; requests never carry more."""


class GroupsConfig(BaseModel):
    """The groups to push: a filter (ANDed with ``directory.group_filter``) under ``base_dn``, or
    an explicit list of DNs; the Webex name from an attribute or a template."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_dn: str | None = None
    filter: str | None = None
    dns: list[str] = Field(default_factory=list)
    name: MappingRule = Field(default_factory=lambda: MappingRule(source="cn"))
    nested: Literal["flatten", "direct"] = "flatten"
    on_deleted: Literal["delete", "keep"] = "delete"
    protected: list[str] = Field(default_factory=list)
    security_only: bool | None = None
    """Active Directory: push security groups only (the default there); ignored elsewhere."""
    members_per_request: int = Field(default=100, ge=1, le=MAX_MEMBERS_PER_REQUEST)
    """Members one Webex request adds or removes at most (Webex documents no limit)."""

    @field_validator("name", mode="before")
    @classmethod
    def _name_rule(cls, value: object) -> object:
        return MappingRule.parse(value)

    @field_validator("base_dn")
    @classmethod
    def _base(cls, value: str | None) -> str | None:
        return None if value is None else check_dn(value)

    @field_validator("dns")
    @classmethod
    def _dns(cls, values: list[str]) -> list[str]:
        return [check_dn(v) for v in values]

    @field_validator("filter")
    @classmethod
    def _filter(cls, value: str | None) -> str | None:
        return None if value is None else check_filter(value)

    @model_validator(mode="after")
    def _one_selection(self) -> GroupsConfig:
        if self.filter and self.dns:
            raise ValueError("set either groups.filter or groups.dns, not both")
        if not self.filter and not self.dns:
            raise ValueError(
                'say which directory groups to push: groups.filter (e.g. "(cn=webex-*)") or groups.dns'
            )
        return self

    def selection_filter(self, group_filter: str, directory_type: str) -> str:
        """The LDAP filter of the selected groups (without ``dns``)."""
        parts = [group_filter, self.filter or ""]
        if directory_type == "activedirectory" and self.security_only is not False:
            parts.append(AD_SECURITY_GROUPS)
        parts = [p for p in parts if p]
        return parts[0] if len(parts) == 1 else "(&" + "".join(parts) + ")"

    def names_protected(self) -> frozenset[str]:
        return frozenset(name.strip().lower() for name in self.protected)
