"""The People API's ids of SCIM users and of the organization: written as Webex writes them, and
read back from any spelling Webex may use; anything else is not a person."""

from __future__ import annotations

import base64

import pytest

from webex_provisioner.webex.person_ids import organization_id, person_id, scim_id_of

SCIM_ID = "5dbc6ce9-00ed-4299-a880-b0cf96003b79"
ORG = "0ae87ade-8c8a-4952-af08-318798958d0c"


def encoded(text: str, *, pad: bool = False, url_safe: bool = False) -> str:
    raw = (base64.urlsafe_b64encode if url_safe else base64.b64encode)(text.encode()).decode()
    return raw if pad else raw.rstrip("=")


def test_ids_are_unpadded_base64_of_the_ciscospark_uri() -> None:
    """A person's id is the unpadded standard base64 of ciscospark://us/PEOPLE/<SCIM id>, the
    organization's of ciscospark://us/ORGANIZATION/<UUID>."""
    assert person_id(SCIM_ID) == encoded(f"ciscospark://us/PEOPLE/{SCIM_ID}")
    assert organization_id(ORG) == encoded(f"ciscospark://us/ORGANIZATION/{ORG}")
    assert "=" not in person_id("a") and scim_id_of(person_id("a")) == "a"


@pytest.mark.parametrize(
    "spelling",
    [
        encoded(f"ciscospark://us/PEOPLE/{SCIM_ID}"),
        encoded(f"ciscospark://us/PEOPLE/{SCIM_ID}", pad=True),
        encoded(f"ciscospark://us/PEOPLE/{SCIM_ID}", url_safe=True),
        encoded(f"ciscospark://eu/PEOPLE/{SCIM_ID}"),
        f"  {encoded(f'ciscospark://us/PEOPLE/{SCIM_ID}')}\n",
    ],
)
def test_a_person_id_gives_its_scim_id_however_it_is_spelled(spelling: str) -> None:
    """Padded or not, standard or URL-safe, another region, blanks around: the SCIM id inside."""
    assert scim_id_of(spelling) == SCIM_ID


@pytest.mark.parametrize(
    "value",
    [
        None,
        42,
        "",
        "not base64 at all!",
        encoded(f"ciscospark://us/PLACE/{SCIM_ID}"),
        encoded(f"ciscospark://us/ORGANIZATION/{ORG}"),
        encoded("ciscospark://us/PEOPLE/"),
        encoded("ciscospark://us/PEOPLE/two words"),
        encoded("ciscospark://us/PEOPLE/line\nbreak"),
        encoded("ciscospark://us/PEOPLE/" + "x" * 300),
        encoded(f"https://us/PEOPLE/{SCIM_ID}"),
        encoded("ciscospark:///PEOPLE/x"),
        base64.b64encode(b"\xff\xfe ciscospark").decode(),
        "Y" * 5000,
        "é" * 8,
    ],
)
def test_anything_else_is_not_a_person(value: object) -> None:
    """Not a text, not base64, another kind of resource, no id or one that is not a printable
    word of at most 256 characters, another scheme, not UTF-8, too long: not a person."""
    assert scim_id_of(value) is None
