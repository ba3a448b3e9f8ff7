"""The Group operations of the SCIM API over a ``GroupStore``: what the handlers and Bulk call.

Members must be users or groups of the organization (400 otherwise); machines are not
emulated. Each write moves ``meta.version`` and ``meta.lastModified``, and so does losing a
member because the user was deleted. Nothing here knows about HTTP.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from webex_provisioner.emulator import group_filters, group_patch
from webex_provisioner.emulator import group_resources as resources
from webex_provisioner.emulator.errors import invalid_syntax, invalid_value, not_found
from webex_provisioner.emulator.group_resources import GroupRecord
from webex_provisioner.emulator.group_store import GroupStore, MemberDelta
from webex_provisioner.emulator.membership import Membership
from webex_provisioner.emulator.service import (
    LIST_URN,
    PATCH_URN,
    attribute_names,
    boolean_param,
    integer_param,
    later_than,
    timestamp,
    utc_now,
)
from webex_provisioner.emulator.store import UserStore

GROUP_MEMBERS_URN = "urn:scim:schemas:extension:cisco:webexidentity:2.0:GroupMembers"
MEMBERS_PAGE = 500
"""Default and largest page of ``/Groups/{id}/Members`` (Webex's documented maximum)."""
_SORT_KEYS: dict[str, Callable[[GroupRecord], str]] = {
    "displayname": lambda g: g.display_name.casefold(),
    "id": lambda g: g.id,
    "meta.lastmodified": lambda g: g.modified,
}


@dataclass(frozen=True)
class GroupLimits:
    """The switches of the group endpoints."""

    max_members_per_patch: int | None = 500
    max_group_members: int | None = 250_000
    members_in_resource: int = 500
    """A group resource lists at most this many members (Webex: 500); ``/Members`` pages the rest."""


@dataclass(frozen=True)
class GroupSearchResult:
    total: int
    start_index: int
    groups: list[GroupRecord]
    include_members: bool
    member_type: str | None
    attributes: list[str] | None
    excluded: list[str] | None


class GroupService:
    """Create, read, replace, patch, delete and search the groups of one organization."""

    def __init__(
        self,
        store: GroupStore,
        users: UserStore,
        org_id: str,
        *,
        limits: GroupLimits | None = None,
        default_count: int = 100,
        max_count: int = 1000,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.store = store
        self.users = users
        self.org_id = org_id
        self.limits = limits or GroupLimits()
        self.default_count = default_count
        self.max_count = max_count
        self._clock = clock

    # ----------------------------------------------------------------------- members

    def member_type(self, member_id: str, declared: str | None, group_id: str | None = None) -> str:
        """The type of an existing member (``user`` or ``group``); 400 when there is no such one."""
        if member_id == group_id:
            raise invalid_value("a group cannot be a member of itself")
        if declared in (None, "user") and self.users.get(member_id) is not None:
            return "user"
        if declared in (None, "group") and self.store.get(member_id) is not None:
            return "group"
        if declared == "machine":
            raise invalid_value(f"members: no machine with id {member_id!r} (the emulator has no machines)")
        kind = declared or "user or group"
        raise invalid_value(f"members: no {kind} with id {member_id!r} in this organization")

    def _resolve_all(self, members: Iterable[tuple[str, str | None]], group_id: str) -> dict[str, str]:
        return {m: self.member_type(m, declared, group_id) for m, declared in members}

    def _check_size(self, size: int) -> None:
        limit = self.limits.max_group_members
        if limit is not None and size > limit:
            raise invalid_value(f"a group can have at most {limit} members; this change would make {size}")

    def _touch(self, record: GroupRecord) -> GroupRecord:
        """The record one write later: ``version`` + 1, ``lastModified`` now (and moved)."""
        modified = later_than(record.modified, self._clock())
        return dataclasses.replace(record, modified=modified, version=record.version + 1)

    # ----------------------------------------------------------------------- writes

    def create(self, body: Mapping[str, Any], *, group_id: str | None = None) -> GroupRecord:
        """POST /Groups: 400 on invalid input or unknown members, 409 when the name is taken."""
        resources.require_group_schema(body)
        checked = resources.normalise(body)
        new_id = group_id or str(uuid.uuid4())
        members = self._resolve_all(checked.members or [], new_id)
        self._check_size(len(members))
        now = timestamp(self._clock())
        record = GroupRecord(new_id, checked.attributes, now, now, 1)
        self.store.create(record, members)
        return record

    def replace(self, group_id: str, body: Mapping[str, Any]) -> GroupRecord:
        """PUT /Groups/{id}: every attribute replaced; members left out means no members."""
        resources.require_group_schema(body)
        checked = resources.normalise(body)
        members = self._resolve_all(checked.members or [], group_id)
        self._check_size(len(members))

        def change(current: GroupRecord, _: object) -> tuple[GroupRecord, MemberDelta]:
            record = dataclasses.replace(self._touch(current), attributes=checked.attributes)
            return record, MemberDelta(clear=True, added=members)

        return self.store.update(group_id, change)

    def patch(self, group_id: str, body: Mapping[str, Any]) -> GroupRecord:
        """PATCH /Groups/{id}: PatchOp operations in order, all or nothing."""
        fields = {str(k).lower(): v for k, v in body.items()}
        schemas = fields.get("schemas")
        if not isinstance(schemas, list) or PATCH_URN not in schemas:
            raise invalid_syntax(f"'schemas' must list {PATCH_URN}")
        operations = fields.get("operations")

        def resolve(member_id: str, declared: str | None) -> str:
            return self.member_type(member_id, declared, group_id)

        def change(current: GroupRecord, membership: Membership) -> tuple[GroupRecord, MemberDelta]:
            members = membership.members(group_id)
            plan = group_patch.plan(current.attributes, members, operations, resolve)
            limit = self.limits.max_members_per_patch
            if limit is not None and plan.named_members > limit:
                named = plan.named_members
                raise invalid_value(
                    f"one PATCH may add or remove at most {limit} members; this one names {named}"
                )
            delta = plan.delta
            size = len(delta.added) + (0 if delta.clear else len(members) - len(delta.removed))
            self._check_size(size)
            return dataclasses.replace(self._touch(current), attributes=plan.attributes), delta

        return self.store.update(group_id, change)

    def delete(self, group_id: str) -> None:
        """DELETE /Groups/{id} (404 when unknown); it also leaves the groups it was a member of."""
        self.store.delete(group_id, self._touch)

    def forget_user(self, user_id: str) -> None:
        """A user was deleted: out of every group it was in (O(its groups))."""
        self.store.forget_member(user_id, self._touch)

    # ----------------------------------------------------------------------- reads

    def get(self, group_id: str) -> GroupRecord:
        record = self.store.get(group_id)
        if record is None:
            raise not_found(f"no group with id {group_id!r}")
        return record

    def _candidates(self, node: Any) -> list[GroupRecord]:
        keys = group_filters.index_keys(node) if node is not None else None
        if keys is None:
            return self.store.groups()
        ids: set[str] = set()
        for name, value in keys:
            if name == "id":
                ids.add(value)
            elif name == "displayName":
                ids |= self.store.ids_named(value)
            else:
                ids |= self.store.ids_with_external_id(value)
        if len(ids) == 1:
            record = self.store.get(ids.pop())
            return [record] if record is not None else []
        return [g for g in self.store.groups() if g.id in ids] if ids else []

    def search(self, params: Mapping[str, str]) -> GroupSearchResult:
        """GET /Groups: filter, sort, page; members only with ``includeMembers=true``."""
        text = params.get("filter")
        node = group_filters.parse(text) if text else None
        groups = self._candidates(node)
        if node is not None:
            groups = [g for g in groups if group_filters.matches(node, g)]
        sort_by = params.get("sortBy")
        order = (params.get("sortOrder") or "ascending").lower()
        if order not in ("ascending", "descending"):
            raise invalid_value(f"sortOrder must be ascending or descending, not {order!r}")
        if sort_by:
            key = _SORT_KEYS.get(sort_by.lower())
            if key is None:
                raise invalid_value(f"sortBy must be displayName, id or meta.lastModified, not {sort_by!r}")
            groups = sorted(groups, key=key, reverse=order == "descending")
        start = max(1, integer_param(params, "startIndex", 1))
        count = min(max(0, integer_param(params, "count", self.default_count)), self.max_count)
        return GroupSearchResult(
            total=len(groups),
            start_index=start,
            groups=groups[start - 1 : start - 1 + count],
            include_members=boolean_param(params, "includeMembers"),
            member_type=resources.canonical_member_type(params.get("memberType") or None),
            attributes=attribute_names(params.get("attributes")),
            excluded=attribute_names(params.get("excludedAttributes")),
        )

    def members_page(self, group_id: str, params: Mapping[str, str], base: str) -> dict[str, Any]:
        """GET /Groups/{id}/Members: ``startIndex`` (1-based), ``count`` (default and maximum 500)."""
        record = self.get(group_id)
        start = max(1, integer_param(params, "startIndex", 1))
        count = min(max(0, integer_param(params, "count", MEMBERS_PAGE)), MEMBERS_PAGE)
        member_type = resources.canonical_member_type(params.get("memberType") or None)
        total, items = self.store.page(group_id, start, count, member_type)
        return {
            "schemas": [GROUP_MEMBERS_URN],
            "displayName": record.display_name,
            "totalResults": total,
            "memberSize": total,
            "itemsPerPage": len(items),
            "startIndex": start,
            "members": [self._member(m, t, base, with_ref=False) for m, t in items],
        }

    # ----------------------------------------------------------------------- output

    def _member(
        self, member_id: str, member_type: str, base: str, *, with_ref: bool = True
    ) -> dict[str, str]:
        member = {"value": member_id, "type": member_type}
        if member_type == "user":
            user = self.users.get(member_id)
            if user is not None:
                member["display"] = user.get("displayName") or user["userName"]
            path = "Users"
        else:
            group = self.store.get(member_id)
            if group is not None:
                member["display"] = group.display_name
            path = "Groups"
        if with_ref:
            member["$ref"] = f"{base}/{path}/{member_id}"
        return member

    def render(
        self,
        record: GroupRecord,
        base: str,
        *,
        members: bool = True,
        member_type: str | None = None,
        attributes: list[str] | None = None,
        excluded: list[str] | None = None,
    ) -> dict[str, Any]:
        """A group as the API returns it under ``base`` (``.../v2``), with at most
        ``members_in_resource`` members (none when ``members`` is false)."""
        listed = None
        if members:
            _, items = self.store.page(record.id, 1, self.limits.members_in_resource, member_type)
            listed = [self._member(m, t, base) for m, t in items]
        result = resources.render(record, f"{base}/Groups/{record.id}", self.org_id, listed)
        if attributes or excluded:
            return resources.project(result, attributes, excluded)
        return result

    def list_response(self, result: GroupSearchResult, base: str) -> dict[str, Any]:
        """The SCIM ListResponse of a group search page."""
        resources_ = [
            self.render(
                g,
                base,
                members=result.include_members,
                member_type=result.member_type,
                attributes=result.attributes,
                excluded=result.excluded,
            )
            for g in result.groups
        ]
        return {
            "schemas": [LIST_URN],
            "totalResults": result.total,
            "itemsPerPage": len(result.groups),
            "startIndex": result.start_index,
            "Resources": resources_,
        }
