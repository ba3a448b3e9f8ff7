"""The vocabulary of webex-provisioner (docs/architecture.md, "Vocabulary") as plain, immutable data.

Everything here is a value: no I/O, no clock. Adapters produce and consume these types; the
mapping and the planner compute with them.
"""

from webex_provisioner.model.actions import ActionKind, Deprovision, Reason
from webex_provisioner.model.groups import (
    DirectoryGroup,
    GroupAction,
    GroupLink,
    GroupRead,
    Member,
    WebexGroup,
)
from webex_provisioner.model.plan import Plan, Problem, ProblemKind
from webex_provisioner.model.records import AuditEntry, CycleKind, CycleRecord, InstanceRecord, Outcome
from webex_provisioner.model.users import (
    Action,
    Attributes,
    Change,
    DirectoryUser,
    Link,
    LinkState,
    WebexUser,
)

__all__ = [
    "Action",
    "ActionKind",
    "Attributes",
    "AuditEntry",
    "Change",
    "CycleKind",
    "CycleRecord",
    "Deprovision",
    "DirectoryGroup",
    "DirectoryUser",
    "GroupAction",
    "GroupLink",
    "GroupRead",
    "InstanceRecord",
    "Link",
    "LinkState",
    "Member",
    "Outcome",
    "Plan",
    "Problem",
    "ProblemKind",
    "Reason",
    "WebexGroup",
    "WebexUser",
]
