"""Safety guards (design.md §5). Pure: they look at a plan and numbers, never at a server.

* The directory health gate refuses to plan from a read that returned (almost) nobody while
  links exist: an empty answer is far more often an outage or a wrong base DN than a company
  that fired everyone.
* The deprovision guard holds deprovisions beyond ``safety.max_deprovisions`` until an
  administrator approves them; everything else in the plan proceeds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from webex_provisioner.errors import DirectoryIncompleteError
from webex_provisioner.model import Plan


@dataclass(frozen=True, slots=True)
class DeprovisionLimits:
    count: int | None = 50
    percent: float | None = 10.0

    def allowed(self, link_count: int) -> int | None:
        """How many deprovisions one cycle may apply without approval (None: no limit).

        The percentage never holds a single deprovision: one leaver is not a mass event.
        """
        limits = []
        if self.count is not None:
            limits.append(self.count)
        if self.percent is not None:
            limits.append(max(1, math.floor(link_count * self.percent / 100)))
        return min(limits) if limits else None


def check_directory_health(users_read: int, link_count: int, min_users: int, source: str) -> None:
    """Raise if the directory answered with too few users to be trusted while links exist."""
    if link_count == 0:
        return
    if users_read == 0 or users_read < min_users:
        raise DirectoryIncompleteError(
            f"the directory returned {users_read} user(s) under {source} while {link_count} user(s) are "
            f"linked (safety.min_users is {min_users}); nothing was planned or deprovisioned. Check "
            "directory.base_dn, directory.user_filter and the bind account's read rights"
        )


def guard_deprovisions(plan: Plan, link_count: int, limits: DeprovisionLimits) -> Plan:
    """Move every deprovision of ``plan`` to ``held`` when there are more than the limits allow."""
    deprovisions = [a for a in plan.actions if a.kind.deprovisions]
    allowed = limits.allowed(link_count)
    if allowed is None or len(deprovisions) <= allowed:
        return plan
    kept = tuple(a for a in plan.actions if not a.kind.deprovisions)
    return replace(plan, actions=kept, held=(*plan.held, *deprovisions))
