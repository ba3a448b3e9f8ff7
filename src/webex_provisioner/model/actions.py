"""What actions do and why: the kinds of action, their reasons, what a deprovision does."""

from __future__ import annotations

from enum import StrEnum


class ActionKind(StrEnum):
    """What an action does. Users: ``create`` ... ``delete``; Webex groups: ``create_group`` ...
    ``release_group``; licences: ``assign_license``, ``reclaim_license``."""

    CREATE = "create"
    LINK = "link"
    UPDATE = "update"
    DISABLE = "disable"
    REACTIVATE = "reactivate"
    DELETE = "delete"
    CREATE_GROUP = "create_group"
    LINK_GROUP = "link_group"
    RENAME_GROUP = "rename_group"
    ADD_MEMBERS = "add_members"
    REMOVE_MEMBERS = "remove_members"
    DELETE_GROUP = "delete_group"
    RELEASE_GROUP = "release_group"
    ASSIGN_LICENSE = "assign_license"
    RECLAIM_LICENSE = "reclaim_license"

    @property
    def deprovisions(self) -> bool:
        """A user deprovision: what ``safety.max_deprovisions`` counts among users."""
        return self in (ActionKind.DISABLE, ActionKind.DELETE)

    @property
    def takes_away(self) -> bool:
        """Whether the action takes something away (a user, a group, a membership, a licence):
        what the guards count and hold."""
        return self in _TAKES_AWAY


_TAKES_AWAY = frozenset(
    {
        ActionKind.DISABLE,
        ActionKind.DELETE,
        ActionKind.REMOVE_MEMBERS,
        ActionKind.DELETE_GROUP,
        ActionKind.RECLAIM_LICENSE,
    }
)


class Reason(StrEnum):
    ENTERED_SCOPE = "entered_scope"
    MATCHED_EXISTING = "matched_existing"
    ATTRIBUTES_CHANGED = "attributes_changed"
    DELETED_IN_DIRECTORY = "deleted_in_directory"
    DISABLED_IN_DIRECTORY = "disabled_in_directory"
    LEFT_SCOPE = "left_scope"
    RE_ENABLED = "re_enabled"
    RE_ENTERED_SCOPE = "re_entered_scope"
    GRACE_PERIOD_ELAPSED = "grace_period_elapsed"
    WEBEX_USER_MISSING = "webex_user_missing"
    GROUP_SELECTED = "group_selected"
    RENAMED_IN_DIRECTORY = "renamed_in_directory"
    JOINED_GROUP = "joined_group"
    LEFT_GROUP = "left_group"
    LEFT_SELECTION = "left_selection"
    RULE_MATCHED = "rule_matched"
    NO_RULE_MATCHES = "no_rule_matches"
    USER_DEPROVISIONED = "user_deprovisioned"
    DRIFT_IN_WEBEX = "drift_in_webex"
    """A managed attribute or membership was changed in Webex by someone else: set back."""
    DEACTIVATED_IN_WEBEX = "deactivated_in_webex"
    """A linked user was deactivated in Webex while active in the directory."""
    DELETED_IN_WEBEX = "deleted_in_webex"
    """A linked Webex user was deleted by someone else while wanted in the directory."""


DRIFT_REASONS = frozenset({Reason.DRIFT_IN_WEBEX, Reason.DEACTIVATED_IN_WEBEX, Reason.DELETED_IN_WEBEX})
"""The reasons of the actions that set back what someone changed in Webex (docs/drift.md)."""


class Deprovision(StrEnum):
    """What a deprovision trigger does (provisioning.on_deleted / on_disabled / on_left_scope)."""

    DISABLE = "disable"
    DELETE = "delete"
    NONE = "none"
