"""From raw LDAP entries to ``DirectoryUser`` values: anchors, decoding, labels.

The anchor is read as text (``entryUUID``, ``nsUniqueId``, ...), except Active Directory's binary
``objectGUID``, which becomes the canonical GUID string (``uuid.UUID(bytes_le=...)``) and is
searched for with its escaped binary form.
"""

from __future__ import annotations

from collections.abc import Mapping

from webex_provisioner.config.ldap_filter import equals
from webex_provisioner.directory.guid import GUID_LENGTH, guid_filter, guid_from_bytes, is_guid
from webex_provisioner.model import DirectoryUser

_BINARY_GUID_ANCHORS = frozenset({"objectguid"})
_NONE: frozenset[str] = frozenset()


def anchor_value(attrs: Mapping[str, list[bytes]], anchor: str) -> str | None:
    """The anchor of an entry as text, or ``None`` when the entry has no (usable) anchor value."""
    wanted = anchor.lower()
    raw = attrs.get(anchor)  # the server usually spells it as asked
    if raw is None:
        raw = next((values for name, values in attrs.items() if name.lower() == wanted), None)
    if not raw:
        return None
    value = raw[0]
    if wanted in _BINARY_GUID_ANCHORS and len(value) == GUID_LENGTH:
        return guid_from_bytes(value)
    try:
        text = value.decode("utf-8").strip()
    except UnicodeDecodeError:
        return None
    return text or None


def anchor_filter(anchor: str, key: str) -> str | None:
    """An equality filter finding the entry whose anchor is ``key``; ``None`` if ``key`` cannot be one."""
    if anchor.lower() in _BINARY_GUID_ANCHORS:
        return guid_filter(anchor, key) if is_guid(key) else None
    return equals(anchor, key.strip())


_LOWER: dict[str, str] = {}


def _lower(name: str) -> str:
    """An attribute name in lower case, one string per name (entries repeat the same few names)."""
    lowered = _LOWER.get(name)
    if lowered is None:
        lowered = _LOWER.setdefault(name, name.lower()) if len(_LOWER) < 10_000 else name.lower()
    return lowered


def to_user(
    dn: str,
    attrs: Mapping[str, list[bytes]],
    anchor: str,
    anchor_text: str,
    *,
    disabled: bool,
    in_scope: bool,
    scope_reason: str,
    labels: frozenset[str] = _NONE,
) -> DirectoryUser:
    """The directory user of an entry whose anchor (attribute ``anchor``) is ``anchor_text``,
    carrying the licence rules' ``labels`` it matches.

    Attribute names are lower-cased; values decoded as UTF-8; an attribute with a value that is
    not UTF-8 is left out and named in ``undecodable``. The anchor is included under its name.
    """
    anchor_key = anchor.lower()
    decoded: dict[str, tuple[str, ...]] = {}
    undecodable: set[str] | None = None
    lowered = _LOWER
    for name, raw in attrs.items():
        key = lowered.get(name) or _lower(name)
        if key == anchor_key:
            decoded[key] = (anchor_text,)
            continue
        try:
            values = (raw[0].decode(),) if len(raw) == 1 else tuple(map(bytes.decode, raw))  # UTF-8, strict
        except UnicodeDecodeError:
            if undecodable is None:
                undecodable = set()
            undecodable.add(key)
            continue
        if key in decoded:  # the same attribute spelt twice
            values = decoded[key] + values
        decoded[key] = values
    return DirectoryUser(
        anchor=anchor_text,
        dn=dn,
        attributes=decoded,
        disabled=disabled,
        in_scope=in_scope,
        scope_reason=scope_reason,
        undecodable=frozenset(undecodable) if undecodable else _NONE,
        labels=labels,
    )
