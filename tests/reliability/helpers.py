"""What the reliability tests check after every fault: Webex holds exactly the right users, once."""

from __future__ import annotations

from collections import Counter

from tests.conftest import World
from webex_provisioner.model import AuditEntry, Link
from webex_provisioner.state import open_state_store


def expected_emails(world: World) -> set[str]:
    """The lower-cased e-mails of Example Corp's enabled in-scope users that have one."""
    corp = world.corp
    return {world.person_mail(uid).lower() for uid in corp.in_scope - corp.disabled if corp.person(uid).mail}


def stored_links(world: World) -> list[Link]:
    store = open_state_store(world.config.state)
    try:
        return list(store.links())
    finally:
        store.close()


def stored_refresh_token(world: World) -> str | None:
    """The rotated OAuth refresh token kept in the state, if any."""
    store = open_state_store(world.config.state)
    try:
        stored = store.refresh_token()
        return stored.value if stored is not None else None
    finally:
        store.close()


def audit_entries(world: World, limit: int = 10_000) -> list[AuditEntry]:
    """The audit trail in the state, newest first."""
    store = open_state_store(world.config.state)
    try:
        return store.audit(limit=limit)
    finally:
        store.close()


def blind_create_retries(world: World) -> int:
    """POSTs of a user that Webex refused with 409: a create sent again without a lookup first."""
    return sum(1 for method, path, status in world.emulator.request_log if method == "POST" and status == 409)


def assert_converged(world: World) -> None:
    """Every expected user exists once in Webex, active, and is linked to the right Webex user;
    nothing was deleted; no create was ever sent twice; a further sync has nothing to do."""
    users = world.emulator.users()
    names = Counter(u["userName"].lower() for u in users)
    duplicated = {name: n for name, n in names.items() if n > 1}
    assert not duplicated, f"duplicated Webex users: {duplicated}"
    assert set(names) == expected_emails(world)
    assert all(u["active"] for u in users), [u["userName"] for u in users if not u["active"]]
    assert world.emulator.archived_users() == []
    assert blind_create_retries(world) == 0
    by_email = {u["userName"].lower(): u for u in users}
    links = stored_links(world)
    assert len(links) == len(users)
    for link in links:
        webex = by_email[link.email.lower()]
        assert link.webex_id == webex["id"], link.email
        assert webex["externalId"] == link.anchor, link.email
    again = world.sync()
    assert again.plan.actions == (), [(a.kind.value, a.email) for a in again.plan.actions]
