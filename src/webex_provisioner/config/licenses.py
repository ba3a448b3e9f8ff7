"""``licenses:``: which Webex licences the users get, by rule, and when they are taken back
(docs/licenses.md)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from webex_provisioner.config.ldap_filter import check_filter
from webex_provisioner.config.values import check_dn
from webex_provisioner.model.licenses import LicenseRuleSpec, filter_label, group_label


class LicenseWhen(BaseModel):
    """Who a rule is for: everyone, the members of a directory group (nested as
    ``directory.scope.nested_groups``), or the users an LDAP filter matches. Exactly one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    everyone: bool = False
    group: str | None = None
    filter: str | None = None

    @field_validator("group")
    @classmethod
    def _group(cls, value: str | None) -> str | None:
        return None if value is None else check_dn(value)

    @field_validator("filter")
    @classmethod
    def _filter(cls, value: str | None) -> str | None:
        return None if value is None else check_filter(value)

    @model_validator(mode="after")
    def _one(self) -> LicenseWhen:
        given = [k for k in ("everyone", "group", "filter") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError(
                "a rule's when: takes exactly one of everyone: true, group: DN or filter: FILTER"
            )
        return self

    @property
    def label(self) -> str | None:
        """The directory label a user carries when it matches (``None``: everyone matches)."""
        if self.group is not None:
            return group_label(self.group)
        if self.filter is not None:
            return filter_label(self.filter)
        return None

    def describe(self) -> str:
        if self.group is not None:
            return f"member of {self.group}"
        if self.filter is not None:
            return f"matches {self.filter}"
        return "everyone"


class LicenseRule(BaseModel):
    """The licences (names or ids) the users a ``when`` selects get."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    when: LicenseWhen
    assign: list[str] = Field(min_length=1)

    @field_validator("assign")
    @classmethod
    def _names(cls, values: list[str]) -> list[str]:
        cleaned = [v.strip() for v in values]
        if any(not v for v in cleaned):
            raise ValueError("a licence name or id cannot be empty")
        return cleaned


class LicensesConfig(BaseModel):
    """The rules, and whether licences this tool assigned are taken back."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: list[LicenseRule] = Field(min_length=1)
    reclaim: bool = True
    reclaim_on_disable: bool = True

    def labels(self) -> list[str]:
        """The directory labels the rules read (``group:DN``, ``filter:FILTER``)."""
        return sorted({rule.when.label for rule in self.rules if rule.when.label is not None})

    def specs(self) -> tuple[LicenseRuleSpec, ...]:
        """The rules as the pure planner takes them, numbered from 1 in the order written."""
        return tuple(
            LicenseRuleSpec(number, rule.when.label, rule.when.describe(), tuple(rule.assign))
            for number, rule in enumerate(self.rules, start=1)
        )
