"""Bad directory data: each bad user is reported with its reason and skipped, everyone else is
provisioned, and the cycle exits 3. Values from data never widen an LDAP search or run as a
template."""

from __future__ import annotations

import json

import pytest

from tests.conftest import World
from tests.reliability.helpers import audit_entries, expected_emails
from webex_provisioner.engine.report import EXIT_FAILED, EXIT_USERS_FAILED
from webex_provisioner.model import Outcome
from webex_provisioner.sandbox.company import WITHOUT_MAIL

pytestmark = pytest.mark.timeout(120)


def test_each_bad_entry_is_reported_and_skipped_while_the_rest_is_provisioned(world: World) -> None:
    """Binary data, two values where one is expected, a value over Webex's limit, a manager out
    of scope, an invalid e-mail, a shared e-mail and a missing e-mail: each user is reported with
    its reason and skipped; every other user is provisioned (managers included); exit 3. Fixing
    an entry gets that user provisioned by the next cycle."""
    corp, slapd = world.corp, world.slapd
    world.configure(mapping={"manager": "manager", "extensionAttribute1": "audio"})
    dn = {uid: corp.person(uid).dn for uid in ("akim", "aokonkwo", "awong", "cmartin", "cobi", "cwalsh")}
    slapd.modify(dn["akim"], {"audio": [b"\x00\xff\xfe\x81 not text"]})
    slapd.modify(dn["aokonkwo"], {"title": [b"Engineer", b"Architect"]})
    slapd.modify(dn["awong"], {"title": [b"x" * 600]})
    slapd.modify(dn["cmartin"], {"manager": [corp.person("bwhite").dn.encode()]})
    slapd.modify(dn["cobi"], {"mail": [b"chidi.obi(at)example.com"]})
    slapd.modify(corp.person("dkowalski").dn, {"mail": [world.person_mail("cwalsh").encode()]})
    reasons = {
        "akim": "extensionAttribute1: attribute audio holds binary or non-UTF-8 data",
        "aokonkwo": "title: attribute title has 2 values where one is expected",
        "awong": "title: value is 600 characters, Webex accepts at most 512",
        "cmartin": f"manager: {corp.person('bwhite').dn} is not a provisioned Webex user",
        "cobi": "email: 'chidi.obi(at)example.com' is not an e-mail address",
        "cwalsh": "is also the e-mail of directory user(s)",
        "dkowalski": "is also the e-mail of directory user(s)",
        WITHOUT_MAIL: "email: no value",
    }

    result = world.cli("sync", "--json")
    assert result.exit_code == EXIT_USERS_FAILED, result.output
    report = json.loads(result.stdout)
    assert report["error"] is None and report["failures"] == []
    problems = {p["anchor"]: p["detail"] for p in report["plan"]["problems"]}
    anchors = {corp.person(uid).entry_uuid: uid for uid in reasons}
    assert set(problems) == set(anchors)
    for anchor, uid in anchors.items():
        assert reasons[uid] in problems[anchor], (uid, problems[anchor])
    skipped = {e.anchor for e in audit_entries(world) if e.outcome is Outcome.SKIPPED}
    assert skipped == set(anchors)

    bad_emails = {world.person_mail(uid).lower() for uid in reasons if corp.person(uid).mail}
    assert set(world.webex_users()) == expected_emails(world) - bad_emails
    users = world.webex_users()
    assert (
        users["eva.novak@example.com"]["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"][
            "manager"
        ]["value"]
        == users[world.person_mail("rchen").lower()]["id"]
    )

    slapd.modify(dn["aokonkwo"], {"title": [b"Architect"]})
    result = world.cli("sync", "--json")
    assert json.loads(result.stdout)["error"] is None
    assert [(a["action"], a["email"]) for a in json.loads(result.stdout)["plan"]["actions"]] == [
        ("create", world.person_mail("aokonkwo"))
    ]


@pytest.mark.parametrize(
    "key",
    ["*", "*)(mail=*", "eva.novak@example.com)(|(mail=*", "uid=*,ou=people,dc=example,dc=com", "\\2a"],
)
def test_user_keys_are_escaped_not_interpreted(shared_world: World, key: str) -> None:
    """A --user key made of LDAP filter syntax matches nobody (it is escaped, never spliced into
    a filter): exit 1, 'no directory user', nothing created."""
    world = shared_world
    result = world.cli("sync", "--user", key)
    assert result.exit_code == EXIT_FAILED
    assert "no directory user and no link matches" in result.output
    assert world.emulator.users() == []


def test_directory_values_are_data_not_templates(world: World) -> None:
    """Template syntax inside directory values is copied literally by a template rule: data never
    runs as a template, so it cannot reach Python objects."""
    payload = "{{ ''.__class__.__mro__[1].__subclasses__() }}"
    world.slapd.modify(
        world.corp.person("enovak").dn, {"givenName": [b"{{ 7 * 7 }}"], "sn": [payload.encode()]}
    )
    world.configure(mapping={"displayName": "{{ givenName }} {{ sn }}"})
    result = world.cli("sync", "--user", "eva.novak@example.com", "--json")
    assert result.exit_code == 0, result.output
    user = world.webex_user("eva.novak@example.com")
    assert user is not None
    assert user["displayName"] == f"{{{{ 7 * 7 }}}} {payload}"
    assert user["name"] == {"givenName": "{{ 7 * 7 }}", "familyName": payload}
