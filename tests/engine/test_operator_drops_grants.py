"""The operators' commands that drop links (``users forget``, ``reset``) drop the licence grants of
those users with them, through ``record``, and leave the others' alone (on the in-memory store)."""

from __future__ import annotations

from webex_provisioner.engine.operations import forget, reset
from webex_provisioner.model import ActionKind, LicenseAction, LicenseItem, LicenseRefusal, Reason
from webex_provisioner.testing.contracts.samples import T0, grant, link, save, save_grants
from webex_provisioner.testing.state import InMemoryStateStore


def _store_with_grants() -> InMemoryStateStore:
    """Three linked users, each holding two licences."""
    store = InMemoryStateStore()
    store.record([save(link(n)) for n in (1, 2, 3)])
    store.record([save_grants(grant(n, "lic-a"), grant(n, "lic-b", ours=False)) for n in (1, 2, 3)])
    return store


def test_forget_drops_the_grants_of_the_forgotten_user_only() -> None:
    """``users forget`` drops the user's link and every grant of it; the other users keep theirs."""
    store = _store_with_grants()

    forget(store, link(2), T0)

    assert store.grants_of("anchor-2") == []
    assert [(g.anchor, g.license_id) for g in store.grants()] == [
        ("anchor-1", "lic-a"),
        ("anchor-1", "lic-b"),
        ("anchor-3", "lic-a"),
        ("anchor-3", "lic-b"),
    ]


def test_reset_drops_the_grants_of_every_dropped_link() -> None:
    """``reset`` drops the links it is given and their grants, and no grant of a link it keeps."""
    store = _store_with_grants()

    assert reset(store, [link(1), link(3)], T0) == 2

    assert [(g.anchor, g.license_id) for g in store.grants()] == [
        ("anchor-2", "lic-a"),
        ("anchor-2", "lic-b"),
    ]


def test_reset_drops_held_licence_actions_and_refusals() -> None:
    """``reset`` starts over: no held licence action and no licence refusal is left."""
    store = InMemoryStateStore()
    reclaim = LicenseAction(
        ActionKind.RECLAIM_LICENSE, Reason.NO_RULE_MATCHES, "a1", "a1@example.com", (LicenseItem("lic", "L"),)
    )
    store.hold_licenses([reclaim], "c1")
    store.set_license_refusals([LicenseRefusal("a1", "lic", 400404, "conflict", "rules", T0)])
    reset(store, [], T0)
    assert store.held_licenses() == [] and store.license_refusals() == []
