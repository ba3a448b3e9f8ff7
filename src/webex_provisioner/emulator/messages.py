"""``POST /v1/messages`` and ``GET /v1/messages``: notifications posted to Webex spaces.

The emulator posts as one bot (``bot_email``), whatever valid token is used. A message goes to
a space (``roomId``) or to one person (``toPersonId`` / ``toPersonEmail``, a direct space), and
needs ``text`` or ``markdown`` (at most 7439 bytes, Webex's limit). Any ``roomId`` is accepted
unless ``rooms`` names the spaces that exist; then others answer 404. Kept in memory only.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from webex_provisioner.emulator import webex_ids
from webex_provisioner.emulator.errors import WebexApiError
from webex_provisioner.emulator.people import bad_request, positive_int
from webex_provisioner.emulator.service import timestamp, utc_now

MAX_BYTES = 7439
DEFAULT_MAX = 50
LARGEST_MAX = 1000
BOT_EMAIL = "provisioner-bot@webex.bot"
_DESTINATIONS = ("roomId", "toPersonId", "toPersonEmail")
_KEPT = ("parentId", "files", "attachments")


def _text(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad_request(f"{name} must be a string")
    if len(value.encode("utf-8")) > MAX_BYTES:
        raise bad_request(f"{name} is longer than {MAX_BYTES} bytes")
    return value


class MessageBoard:
    """The messages posted, by space, oldest first."""

    def __init__(
        self,
        *,
        bot_email: str = BOT_EMAIL,
        rooms: Iterable[str] = (),
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.bot_email = bot_email
        self.bot_id = webex_ids.encode(
            webex_ids.PEOPLE, str(uuid.uuid5(uuid.NAMESPACE_URL, f"mailto:{bot_email}"))
        )
        self.rooms = frozenset(rooms)
        self._clock = clock
        self._lock = threading.Lock()
        self._all: list[dict[str, Any]] = []
        self._by_room: dict[str, list[dict[str, Any]]] = {}

    def _destination(self, body: Mapping[str, Any]) -> tuple[str, str]:
        given = [name for name in _DESTINATIONS if body.get(name)]
        if len(given) != 1:
            raise bad_request("a message needs exactly one of roomId, toPersonId or toPersonEmail")
        value = body[given[0]]
        if not isinstance(value, str):
            raise bad_request(f"{given[0]} must be a string")
        if given[0] != "roomId":
            direct = uuid.uuid5(uuid.NAMESPACE_URL, f"webex-emulator:direct:{value.casefold()}")
            return webex_ids.encode(webex_ids.ROOM, str(direct)), "direct"
        if self.rooms and value not in self.rooms:
            raise WebexApiError(404, "Could not find a room with provided ID.", f"no space {value!r}")
        return value, "group"

    def post(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST /v1/messages: the message as Webex returns it."""
        room_id, room_type = self._destination(body)
        text, markdown = _text(body, "text"), _text(body, "markdown")
        if not text and not markdown:
            raise bad_request("a message needs text or markdown")
        message: dict[str, Any] = {
            "id": webex_ids.encode(webex_ids.MESSAGE, str(uuid.uuid4())),
            "roomId": room_id,
            "roomType": room_type,
            "text": text or markdown,
        }
        if markdown:
            message["markdown"] = markdown
        for name in (*_KEPT, "toPersonId", "toPersonEmail"):
            if body.get(name) is not None:
                message[name] = body[name]
        message.update(personId=self.bot_id, personEmail=self.bot_email, created=timestamp(self._clock()))
        with self._lock:
            self._all.append(message)
            self._by_room.setdefault(room_id, []).append(message)
        return dict(message)

    def list_room(self, params: Mapping[str, str]) -> dict[str, Any]:
        """GET /v1/messages?roomId=…: newest first, at most ``max`` (default 50), optionally
        ``before`` a time or ``beforeMessage`` a message id."""
        room_id = params.get("roomId")
        if not room_id:
            raise bad_request("roomId is required")
        size = positive_int(params, "max", DEFAULT_MAX, LARGEST_MAX)
        with self._lock:
            messages = list(self._by_room.get(room_id, []))
        before_message = params.get("beforeMessage")
        if before_message:
            ids = [m["id"] for m in messages]
            if before_message not in ids:
                raise bad_request("beforeMessage is not a message of that space")
            messages = messages[: ids.index(before_message)]
        before = params.get("before")
        if before:
            messages = [m for m in messages if m["created"] < before]
        return {"items": [dict(m) for m in reversed(messages[-size:])]}

    def messages(self, room_id: str | None = None) -> list[dict[str, Any]]:
        """Messages posted (to one space, or to all), oldest first (copies)."""
        with self._lock:
            chosen = self._all if room_id is None else self._by_room.get(room_id, [])
            return [dict(m) for m in chosen]

    def clear(self) -> None:
        with self._lock:
            self._all.clear()
            self._by_room.clear()
