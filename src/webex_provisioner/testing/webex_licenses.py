"""The licences of ``InMemoryWebex``: the data and the rules of Webex's licence API, without calls.

A licence has a stable id made from its name (``webex-license-<name in lower case, dashes>``,
``-2``, ``-3`` … for a name taken), units, and a Calling flag (from its name unless said). A
change of a user's licences is checked whole before anything changes, as Webex does: an unknown
licence is ``WebexRejectedError`` with ``code`` 400000, a Calling licence added (it needs a
location and a number, which this port never sends) 400411. Then the removes are applied, then
the adds: adding a licence held or removing one not held changes nothing, and an add for which
no unit is free is skipped (the answer is then not ``complete``: Webex's 206). Consumed units
are the number of holders, so they follow every change and every deleted user. Not thread-safe
on its own: ``InMemoryWebex`` calls it under its lock.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from webex_provisioner.errors import WebexRejectedError
from webex_provisioner.model.licenses import License, LicenseAnswer, is_calling_license

UNKNOWN_LICENSE = 400000
"""Webex's ``errorCode`` for a licence id it does not know."""
CALLING_PROPERTIES_MISSING = 400411
"""Webex's ``errorCode`` for a Calling licence added without a number or an extension."""


@dataclass
class _License:
    id: str
    name: str
    total: int
    calling: bool


class LicenseBook:
    """The licences of one fake organization, in the order they were added, and who holds them."""

    def __init__(self, *, id_prefix: str = "webex-license-") -> None:
        self._id_prefix = id_prefix
        self._licenses: dict[str, _License] = {}
        self._held: dict[str, dict[str, None]] = {}
        """User id -> the ids of the licences it holds, in the order it got them."""

    # -- the catalogue ------------------------------------------------------------------------

    def add(self, name: str, total: int, calling: bool | None) -> License:
        """A new licence with ``total`` units (``ValueError`` for a blank name or fewer than 0)."""
        if not name.strip():
            raise ValueError("a licence needs a name")
        if total < 0:
            raise ValueError(f"licence {name!r} needs 0 or more units, not {total}")
        slug = re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-") or "licence"
        license_id, count = f"{self._id_prefix}{slug}", 1
        while license_id in self._licenses:
            count += 1
            license_id = f"{self._id_prefix}{slug}-{count}"
        made = _License(license_id, name, total, is_calling_license(name) if calling is None else calling)
        self._licenses[license_id] = made
        return self._value(made)

    def all(self) -> list[License]:
        return [self._value(licence) for licence in self._licenses.values()]

    def known(self, license_id: str) -> bool:
        return license_id in self._licenses

    def holders(self, license_id: str) -> list[str]:
        """The users holding a licence, in the order they were given it first."""
        return [user for user, held in self._held.items() if license_id in held]

    def held_by(self, user_id: str) -> frozenset[str]:
        return frozenset(self._held.get(user_id, ()))

    # -- changes ------------------------------------------------------------------------------

    def change(self, user_id: str, add: Sequence[str], remove: Sequence[str], what: str) -> LicenseAnswer:
        """Remove then add licences of one user, as ``WebexLicenses.change_licenses`` states."""
        self._check(add, remove, what)
        held = self._held.setdefault(user_id, {})
        for license_id in remove:
            held.pop(license_id, None)
        complete = True
        for license_id in dict.fromkeys(add):
            if license_id in held:
                continue
            if self._consumed(license_id) >= self._licenses[license_id].total:
                complete = False
                continue
            held[license_id] = None
        self._tidy(user_id)
        return LicenseAnswer(self.held_by(user_id), complete)

    def set(self, user_id: str, license_ids: Iterable[str]) -> None:
        """Give a user exactly these licences, as an administrator does by hand (units are not
        checked: Control Hub may let an organization go over). ``ValueError`` for an unknown one."""
        wanted = list(dict.fromkeys(license_ids))
        unknown = [license_id for license_id in wanted if license_id not in self._licenses]
        if unknown:
            raise ValueError(f"no licence {', '.join(unknown)} in this organization")
        self._held[user_id] = dict.fromkeys(wanted)
        self._tidy(user_id)

    def forget_user(self, user_id: str) -> None:
        """A user was deleted: its units are free again."""
        self._held.pop(user_id, None)

    # -- rules --------------------------------------------------------------------------------

    def _check(self, add: Sequence[str], remove: Sequence[str], what: str) -> None:
        unknown = [lid for lid in dict.fromkeys([*remove, *add]) if lid not in self._licenses]
        if unknown:
            raise WebexRejectedError(
                f"{what}: HTTP 400 (error {UNKNOWN_LICENSE}): License not recognized {', '.join(unknown)}",
                status=400,
                code=UNKNOWN_LICENSE,
            )
        calling = [lid for lid in dict.fromkeys(add) if self._licenses[lid].calling]
        if calling:
            raise WebexRejectedError(
                f"{what}: HTTP 400 (error {CALLING_PROPERTIES_MISSING}): a Calling licence needs its "
                f"calling properties (a number or an extension): {', '.join(calling)}",
                status=400,
                code=CALLING_PROPERTIES_MISSING,
            )

    def _consumed(self, license_id: str) -> int:
        return sum(1 for held in self._held.values() if license_id in held)

    def _tidy(self, user_id: str) -> None:
        if not self._held.get(user_id):
            self._held.pop(user_id, None)

    def _value(self, licence: _License) -> License:
        return License(licence.id, licence.name, licence.total, self._consumed(licence.id), licence.calling)
