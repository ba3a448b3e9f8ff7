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
from webex_provisioner.model.licenses import (
    CapacityRow,
    Grant,
    License,
    LicenseAction,
    LicenseAnswer,
    LicenseItem,
    LicenseRefusal,
    LicenseRuleSpec,
)
from webex_provisioner.model.plan import AnyAction, Plan, Problem, ProblemKind
from webex_provisioner.model.records import AuditEntry, CycleKind, CycleRecord, InstanceRecord, Outcome
from webex_provisioner.model.users import (
    Action,
    Attributes,
    Change,
    DirectoryUser,
    Link,
    LinkState,
    ListedUser,
    WebexUser,
)

__all__ = [
    "Action",
    "ActionKind",
    "AnyAction",
    "Attributes",
    "AuditEntry",
    "CapacityRow",
    "Change",
    "CycleKind",
    "CycleRecord",
    "Deprovision",
    "DirectoryGroup",
    "DirectoryUser",
    "Grant",
    "GroupAction",
    "GroupLink",
    "GroupRead",
    "InstanceRecord",
    "License",
    "LicenseAction",
    "LicenseAnswer",
    "LicenseItem",
    "LicenseRefusal",
    "LicenseRuleSpec",
    "Link",
    "LinkState",
    "ListedUser",
    "Member",
    "Outcome",
    "Plan",
    "Problem",
    "ProblemKind",
    "Reason",
    "WebexGroup",
    "WebexUser",
]
