"""The vocabulary of drift: what Webex holds now that differs from what webex-provisioner applied
(docs/drift.md).

A *drift check* compares, for each linked user, the managed attributes and the state Webex holds
with the link (what was applied), and for each pushed group the members this tool added with the
group's members in Webex. What differs is kept as ``UserDrift`` and ``GroupDrift`` values; the
rules (``rules.drift``) turn them into repairs or reported problems.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from enum import StrEnum

VERIFIED_BYTES = 16
"""The size of the fingerprint of a comparison a drift check verified (``rules.verified``)."""


class DriftKind(StrEnum):
    """What drifted, as ``drift:`` names its settings and ``/metrics`` its labels."""

    ATTRIBUTES = "attributes"
    DEACTIVATED = "deactivated"
    DELETED = "deleted"
    GROUPS = "groups"
    LICENSES = "licenses"


@dataclass(frozen=True, slots=True)
class UserDrift:
    """A linked user whose Webex account differs from what was applied.

    ``values`` holds each managed attribute Webex holds otherwise, with Webex's value (``None``:
    Webex has none). ``deactivated``: inactive in Webex while its link is active. ``deleted``: no
    such Webex user any more.
    """

    anchor: str
    webex_id: str
    email: str
    values: tuple[tuple[str, str | None], ...] = ()
    deactivated: bool = False
    deleted: bool = False

    @property
    def kinds(self) -> tuple[DriftKind, ...]:
        kinds = []
        if self.deleted:
            kinds.append(DriftKind.DELETED)
        if self.deactivated:
            kinds.append(DriftKind.DEACTIVATED)
        if self.values:
            kinds.append(DriftKind.ATTRIBUTES)
        return tuple(kinds)

    @property
    def attributes(self) -> frozenset[str]:
        """The managed attributes Webex holds otherwise."""
        return frozenset(key for key, _ in self.values)


@dataclass(frozen=True, slots=True)
class GroupDrift:
    """A pushed group whose Webex group lacks members this tool added (``missing``: their
    anchors), or is gone altogether (``gone``)."""

    anchor: str
    name: str
    dn: str
    webex_id: str
    missing: frozenset[str]
    gone: bool = False


@dataclass
class DriftFindings:
    """What one cycle's drift check found, or why it concluded nothing.

    ``error`` says why Webex could not be read completely: then no drift is concluded from the
    read (``users`` and ``groups`` stay empty). ``webex_users`` counts the Webex users read,
    ``orphans`` those no link points to.
    """

    users: dict[str, UserDrift] = field(default_factory=dict)
    groups: list[GroupDrift] = field(default_factory=list)
    error: str | None = None
    groups_error: str | None = None
    webex_users: int = 0
    orphans: int = 0
    groups_checked: bool = False
    licenses: int = 0
    """Licences webex-provisioner knew a user to hold that Webex no longer lists for it."""
    verified: list[bytes] = field(default_factory=list)
    """The fingerprints of the comparisons that found users as applied (``rules.verified``):
    those of users compared now and of those verified before and unchanged, kept for the next
    check."""
    compared: int = 0
    """How many linked users were compared."""
    unchanged: int = 0
    """How many linked users were not compared: as the last full check verified them."""
    verified_changed: bool = True
    """Whether ``verified`` differs from what the last check kept (else there is nothing to save)."""

    def found(self) -> Counter[DriftKind]:
        """How many of each kind were found."""
        counts: Counter[DriftKind] = Counter()
        for drift in self.users.values():
            counts.update(drift.kinds)
        groups = sum(1 for g in self.groups if g.missing or g.gone)
        if groups:
            counts[DriftKind.GROUPS] = groups
        if self.licenses:
            counts[DriftKind.LICENSES] = self.licenses
        return counts

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(w for w in (self.error, self.groups_error) if w)


def verified_set(fingerprints: Collection[bytes]) -> frozenset[bytes]:
    """``fingerprints`` as a store keeps them: each ``bytes`` of ``VERIFIED_BYTES`` bytes, once.
    Raises ``ValueError`` saying which one is not (its position, counting from 0) and why."""
    for position, value in enumerate(fingerprints):
        if not isinstance(value, bytes):
            flaw = f"is a {type(value).__name__}, not bytes"
        elif len(value) != VERIFIED_BYTES:
            flaw = f"is {len(value)} bytes long, not {VERIFIED_BYTES}"
        else:
            continue
        raise ValueError(f"the fingerprint at position {position} (counting from 0) {flaw}")
    return frozenset(bytes(value) for value in fingerprints)
