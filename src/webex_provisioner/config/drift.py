"""``drift:``: whether full cycles compare Webex with what was applied, and what to do about each
difference (docs/drift.md). Absent: no comparison (Webex is only read where a cycle needs it)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

Repair = Literal["repair", "report"]


class DriftConfig(BaseModel):
    """What a drift check compares, and what each kind of difference leads to.

    ``deactivated`` defaults to ``report``: a hand deactivation is often a security action, which
    webex-provisioner must not undo by itself. ``licenses`` is read once licences are compared
    (with ``licenses:``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    check: Literal["full", "never"] = "full"
    attributes: Repair = "repair"
    deactivated: Literal["report", "reactivate"] = "report"
    deleted: Literal["recreate", "report"] = "recreate"
    groups: Repair = "repair"
    licenses: Repair = "repair"

    @property
    def enabled(self) -> bool:
        return self.check != "never"
