"""The User operations of the SCIM API, over a ``UserStore``: what the HTTP handlers and Bulk call.

Each operation chains the pure steps (validate, patch, build) with one store call, and raises
``ScimError`` for anything the client must be told. Nothing here knows about HTTP.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from webex_provisioner.emulator import filters, patch, resources
from webex_provisioner.emulator.errors import invalid_syntax, invalid_value, not_found
from webex_provisioner.emulator.schema import CORE_URN, ENTERPRISE_URN
from webex_provisioner.emulator.store import User, UserStore

PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST_URN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
_SORT_KEYS: dict[str, Callable[[User], str]] = {
    "username": lambda u: u["userName"].casefold(),
    "id": lambda u: u["id"],
    "meta.lastmodified": lambda u: u["meta"]["lastModified"],
}


def utc_now() -> datetime:
    return datetime.now(UTC)


def timestamp(moment: datetime) -> str:
    """ISO-8601 UTC with milliseconds and ``Z``, as Webex writes ``meta`` dates."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def later_than(previous: str, now: datetime) -> str:
    """``now`` as a timestamp, but always later than ``previous`` so every write moves ``lastModified``."""
    text = timestamp(now)
    if text <= previous:
        before = datetime.strptime(previous, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        text = timestamp(before + timedelta(milliseconds=1))
    return text


@dataclass(frozen=True)
class SearchResult:
    """One page of a search: the users on it and the numbers of the ListResponse."""

    total: int
    start_index: int
    users: list[User]
    attributes: list[str] | None
    excluded: list[str] | None


def attribute_names(text: str | None) -> list[str] | None:
    """The names of an ``attributes``/``excludedAttributes`` parameter (comma-separated)."""
    names = [n.strip() for n in (text or "").split(",") if n.strip()]
    return names or None


def integer_param(params: Mapping[str, str], name: str, default: int) -> int:
    text = params.get(name)
    if text is None or text == "":
        return default
    try:
        return int(text)
    except ValueError:
        raise invalid_value(f"{name} must be an integer, not {text!r}") from None


def boolean_param(params: Mapping[str, str], name: str, default: bool = False) -> bool:
    """A ``true``/``false`` query parameter (any case); 400 ``invalidValue`` for anything else."""
    text = params.get(name)
    if text is None or text == "":
        return default
    if text.lower() not in ("true", "false"):
        raise invalid_value(f"{name} must be true or false, not {text!r}")
    return text.lower() == "true"


class UserService:
    """Create, read, replace, patch, delete and search the users of one organization."""

    def __init__(
        self,
        store: UserStore,
        org_id: str,
        *,
        default_count: int = 100,
        max_count: int = 1000,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.store = store
        self.org_id = org_id
        self.default_count = default_count
        self.max_count = max_count
        self._clock = clock
        self.deletion_listeners: list[Callable[[str], None]] = []
        """Called with the id of every deleted user (groups and licences let it go)."""

    def _modified_after(self, previous: str) -> str:
        return later_than(previous, self._clock())

    # ----------------------------------------------------------------------- writes

    def create(self, body: Mapping[str, Any], *, user_id: str | None = None) -> User:
        """POST /Users: a new user (400 on invalid input, 409 when the userName is taken)."""
        resources.require_core_schema(body)
        now = timestamp(self._clock())
        user = resources.build(
            resources.normalise(body),
            user_id=user_id or str(uuid.uuid4()),
            org_id=self.org_id,
            created=now,
            modified=now,
            version=1,
        )
        self.store.create(user)
        return user

    def _rebuild(self, current: User, attributes: Mapping[str, Any]) -> User:
        return resources.build(
            attributes,
            user_id=current["id"],
            org_id=self.org_id,
            created=current["meta"]["created"],
            modified=self._modified_after(current["meta"]["lastModified"]),
            version=resources.version_of(current) + 1,
            previous_user_name=current["userName"],
        )

    def replace(self, user_id: str, body: Mapping[str, Any]) -> User:
        """PUT /Users/{id}: a full replace keeping ``id`` and ``meta.created``."""
        resources.require_core_schema(body)
        attributes = resources.normalise(body)
        return self.store.update(user_id, lambda current: self._rebuild(current, attributes))

    def patch(self, user_id: str, body: Mapping[str, Any]) -> User:
        """PATCH /Users/{id}: RFC 7644 PatchOp operations, applied all or nothing."""
        fields = {str(k).lower(): v for k, v in body.items()}
        schemas = fields.get("schemas")
        if not isinstance(schemas, list) or PATCH_URN not in schemas:
            raise invalid_syntax(f"'schemas' must list {PATCH_URN}")
        operations = fields.get("operations")

        def change(current: User) -> User:
            patched = patch.apply(resources.client_attributes(current), operations)
            return self._rebuild(current, resources.normalise(patched))

        return self.store.update(user_id, change)

    def delete(self, user_id: str) -> None:
        """DELETE /Users/{id}: gone from the API (and from its groups and licences), kept in the archive."""
        self.store.delete(user_id, timestamp(self._clock()))
        for listener in self.deletion_listeners:
            listener(user_id)

    # ----------------------------------------------------------------------- reads

    def get(self, user_id: str) -> User:
        """GET /Users/{id} (404 when unknown)."""
        user = self.store.get(user_id)
        if user is None:
            raise not_found(f"no user with id {user_id!r}")
        return user

    def _candidates(self, node: filters.Node | None) -> list[User]:
        keys = filters.index_keys(node) if node is not None else None
        if keys is None:
            return self.store.users()
        found = (value if field == "id" else self.store.id_for_user_name(value) for field, value in keys)
        ids = {user_id for user_id in found if user_id is not None}
        if len(ids) == 1:
            user = self.store.get(ids.pop())
            return [user] if user is not None else []
        return [u for u in self.store.users() if u["id"] in ids] if ids else []

    def search(self, params: Mapping[str, str]) -> SearchResult:
        """GET /Users: filter, sort, page (``startIndex`` 1-based, ``count`` capped at ``max_count``)."""
        text = params.get("filter")
        node = filters.parse(text) if text else None
        if node is not None:
            filters.check_searchable(node)
        sort_by = params.get("sortBy")
        order = (params.get("sortOrder") or "ascending").lower()
        if order not in ("ascending", "descending"):
            raise invalid_value(f"sortOrder must be ascending or descending, not {order!r}")
        start = max(1, integer_param(params, "startIndex", 1))
        count = min(max(0, integer_param(params, "count", self.default_count)), self.max_count)
        if node is None and not sort_by:  # the whole organization, one page copied, not every user
            total, users = self.store.page(start - 1, count)
        else:
            users = self._candidates(node)
            if node is not None:
                users = [u for u in users if filters.matches(node, u)]
            if sort_by:
                key = _SORT_KEYS.get(sort_by.lower())
                if key is None:
                    raise invalid_value(f"sortBy must be userName, id or meta.lastModified, not {sort_by!r}")
                users = sorted(users, key=key, reverse=order == "descending")
            total, users = len(users), users[start - 1 : start - 1 + count]
        return SearchResult(
            total=total,
            start_index=start,
            users=users,
            attributes=attribute_names(params.get("attributes")),
            excluded=attribute_names(params.get("excludedAttributes")),
        )

    # ----------------------------------------------------------------------- output

    def render(
        self,
        user: User,
        base: str,
        attributes: list[str] | None = None,
        excluded: list[str] | None = None,
    ) -> dict[str, Any]:
        """A user as the API returns it under ``base`` (``.../v2``), with the manager's details."""
        result = resources.render(user, f"{base}/Users/{user['id']}")
        enterprise: dict[str, Any] = user.get(ENTERPRISE_URN) or {}
        manager: dict[str, Any] = enterprise.get("manager") or {}
        boss = self.store.get(manager.get("value", "")) if manager else None
        if boss is not None:
            details = {
                "displayName": boss.get("displayName", boss["userName"]),
                "$ref": f"{base}/Users/{boss['id']}",
            }
            result[ENTERPRISE_URN] = {**enterprise, "manager": {**manager, **details}}
        if attributes or excluded:
            return resources.project(result, attributes, excluded)
        return result

    def list_response(self, result: SearchResult, base: str) -> dict[str, Any]:
        """The SCIM ListResponse for a search page."""
        return {
            "schemas": [LIST_URN],
            "totalResults": result.total,
            "itemsPerPage": len(result.users),
            "startIndex": result.start_index,
            "Resources": [self.render(u, base, result.attributes, result.excluded) for u in result.users],
        }


def seed_body(resource: Mapping[str, Any]) -> dict[str, Any]:
    """A test's seed dict as a POST body (the core schema URN added when missing)."""
    body = dict(resource)
    schemas = body.get("schemas")
    if not isinstance(schemas, list) or CORE_URN not in schemas:
        body["schemas"] = [CORE_URN, *(schemas if isinstance(schemas, list) else [])]
    return body
