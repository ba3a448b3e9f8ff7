"""The Messages API over HTTP: notifications a connector posts to a Webex space."""

from __future__ import annotations

import base64

import httpx
import pytest

from webex_provisioner.emulator import EmulatorServer

from .helpers import ORG, TOKEN, webex_error

ROOM = "Y2lzY29zcGFyazovL3VzL1JPT00vYmJjZWIxYWQtNDNmMS0zYjU4LTkxNDctZjE0YmIwYzRkMTU0"


def test_post_markdown(v1: httpx.Client, server: EmulatorServer) -> None:
    """POST /v1/messages answers 200 with the message, authored by the bot, text filled from markdown."""
    response = v1.post("/messages", json={"roomId": ROOM, "markdown": "**Sync done**: 3 created"})
    assert response.status_code == 200
    message = response.json()
    assert base64.b64decode(message["id"] + "==").decode().startswith("ciscospark://us/MESSAGE/")
    assert message["roomId"] == ROOM and message["roomType"] == "group"
    assert (message["markdown"], message["text"]) == ("**Sync done**: 3 created", "**Sync done**: 3 created")
    assert message["personEmail"] == "provisioner-bot@webex.bot" and message["personId"]
    assert message["created"].endswith("Z")
    assert server.messages(ROOM) == [message] and server.messages() == [message]


def test_text_only(v1: httpx.Client) -> None:
    """A plain text message has no markdown field."""
    message = v1.post("/messages", json={"roomId": ROOM, "text": "hello"}).json()
    assert message["text"] == "hello" and "markdown" not in message


@pytest.mark.parametrize(
    "body",
    [
        {"roomId": ROOM},
        {"roomId": ROOM, "text": ""},
        {"text": "no destination"},
        {"roomId": ROOM, "toPersonEmail": "ann@example.com", "text": "two destinations"},
        {"roomId": ROOM, "markdown": "x" * 7440},
        {"roomId": ROOM, "text": 5},
    ],
)
def test_invalid_messages(v1: httpx.Client, server: EmulatorServer, body: dict[str, object]) -> None:
    """Without text or markdown, without exactly one destination, or too long: 400, nothing posted."""
    webex_error(v1.post("/messages", json=body), 400)
    assert server.messages() == []


def test_direct_message(v1: httpx.Client) -> None:
    """toPersonEmail posts to a direct space with a stable roomId."""
    first = v1.post("/messages", json={"toPersonEmail": "ann@example.com", "text": "hi"}).json()
    second = v1.post("/messages", json={"toPersonEmail": "ANN@example.com", "text": "again"}).json()
    assert first["roomType"] == "direct" and first["roomId"] == second["roomId"]
    assert first["toPersonEmail"] == "ann@example.com"


def test_list_newest_first(v1: httpx.Client) -> None:
    """GET /v1/messages?roomId= lists that space's messages newest first, at most max; roomId is required."""
    for n in range(4):
        v1.post("/messages", json={"roomId": ROOM, "text": f"message {n}"})
    v1.post("/messages", json={"roomId": "other-room", "text": "elsewhere"})
    listed = v1.get("/messages", params={"roomId": ROOM}).json()["items"]
    assert [m["text"] for m in listed] == ["message 3", "message 2", "message 1", "message 0"]
    assert [m["text"] for m in v1.get("/messages", params={"roomId": ROOM, "max": 2}).json()["items"]] == [
        "message 3",
        "message 2",
    ]
    older = v1.get("/messages", params={"roomId": ROOM, "beforeMessage": listed[1]["id"]}).json()["items"]
    assert [m["text"] for m in older] == ["message 1", "message 0"]
    webex_error(v1.get("/messages"), 400)


def test_known_rooms_only(server: EmulatorServer) -> None:
    """With rooms configured, a message to another space is 404."""
    with EmulatorServer(org_id=ORG, token=TOKEN, rooms=[ROOM], bot_email="bot@example.webex.bot") as own:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        ok = httpx.post(f"{own.v1_url}/messages", headers=headers, json={"roomId": ROOM, "text": "hi"})
        assert ok.status_code == 200 and ok.json()["personEmail"] == "bot@example.webex.bot"
        unknown = httpx.post(
            f"{own.v1_url}/messages", headers=headers, json={"roomId": "elsewhere", "text": "hi"}
        )
        webex_error(unknown, 404)


def test_reset_forgets_messages(v1: httpx.Client, server: EmulatorServer) -> None:
    """reset() empties the message list."""
    v1.post("/messages", json={"roomId": ROOM, "text": "hi"})
    server.reset()
    assert server.messages() == [] and v1.get("/messages", params={"roomId": ROOM}).json()["items"] == []
