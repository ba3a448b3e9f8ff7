"""Photos end to end: ``avatar`` (a URL) reaches Webex as the SCIM ``photos`` entry of type
photo, follows the directory, and is removed when the directory value goes (real slapd and the
Webex emulator)."""

from __future__ import annotations

import pytest

from tests.conftest import World
from webex_provisioner.model import Change

pytestmark = pytest.mark.timeout(120)

PHOTO = "https://photos.example.com/enovak.jpg"


def photos_of(world: World, uid: str) -> object:
    user = world.webex_user(world.person_mail(uid))
    assert user is not None
    return user.get("photos")


def test_avatar_is_sent_as_the_photo_changed_and_removed(world: World) -> None:
    """A directory URL mapped to avatar is created as photos [{value, type: photo}], replaced when
    it changes, and removed from Webex when the directory value is deleted."""
    world.configure(mapping={**world.raw["mapping"], "avatar": "labeledURI"})
    dn = world.corp.person("enovak").dn
    world.slapd.modify(dn, {"labeledURI": [PHOTO.encode()]})
    world.sync()
    assert photos_of(world, "enovak") == [{"value": PHOTO, "type": "photo"}]

    world.slapd.modify(dn, {"labeledURI": [b"https://photos.example.com/enovak-2024.jpg"]})
    report = world.sync()
    assert [a.changes for a in report.plan.actions if a.kind.value == "update"] == [
        (Change("avatar", PHOTO, "https://photos.example.com/enovak-2024.jpg"),)
    ]
    assert photos_of(world, "enovak") == [
        {"value": "https://photos.example.com/enovak-2024.jpg", "type": "photo"}
    ]

    world.slapd.modify(dn, {"labeledURI": None})
    world.sync()
    assert not photos_of(world, "enovak")
    assert world.sync().plan.actions == ()
