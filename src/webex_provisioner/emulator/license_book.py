"""The organization's licences and who holds them: units, assignments, both-way indexes.

A licence's id is stable across runs: it is derived from the organization id and the licence's
name (ignoring case), in the shape Webex uses, ``ciscospark://us/LICENSE/<org>:<code>_<uuid>``
in base64. Consumed units are the number of holders, so they follow every assignment and every
deleted user. One lock guards everything.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from webex_provisioner.emulator import webex_ids

OFFER_CODE = "EMU"
Properties = dict[str, str]


@dataclass(frozen=True)
class License:
    """One licence of the organization."""

    id: str
    name: str
    total_units: int
    calling: bool = False
    subscription_id: str | None = None
    site_url: str | None = None
    site_type: str | None = None


@dataclass(frozen=True)
class LicenseChange:
    """One element of ``licenses`` in ``PATCH /v1/licenses/users``, checked."""

    license_id: str
    operation: str
    properties: Properties | None = None


def license_id(org_id: str, name: str) -> str:
    """The stable id of the licence called ``name`` in ``org_id``."""
    key = uuid.uuid5(uuid.NAMESPACE_URL, f"webex-emulator:license:{org_id}:{name.casefold()}")
    return webex_ids.encode(webex_ids.LICENSE, f"{org_id}:{OFFER_CODE}_{key}")


def is_calling(name: str) -> bool:
    """Whether a licence is a Webex Calling one by its name (unless said otherwise)."""
    return "calling" in name.casefold()


def parse_license_option(text: str) -> tuple[str, int]:
    """``NAME=UNITS`` (the ``--license`` option) as ``(name, units)``; ``ValueError`` when malformed."""
    name, equals, units = text.rpartition("=")
    if not equals or not name.strip() or not units.strip().isdigit():
        raise ValueError(f"expected NAME=UNITS with a whole number of units, not {text!r}")
    return name.strip(), int(units)


def make_license(org_id: str, name: str, units: int, **options: Any) -> License:
    """A licence of ``org_id`` (not stored); ``calling`` defaults from the name."""
    if not name.strip():
        raise ValueError("a licence needs a name")
    if units < 0:
        raise ValueError(f"a licence needs 0 or more units, not {units}")
    calling = options.pop("calling", None)
    calling = is_calling(name) if calling is None else bool(calling)
    return License(license_id(org_id, name), name, units, calling, **options)


class LicenseBook:
    """Licences by id, and assignments indexed by licence and by user."""

    def __init__(self, org_id: str, seeded: Iterable[License] = ()) -> None:
        self.org_id = org_id
        self._seeded = list(seeded)
        self._lock = threading.Lock()
        self._licenses: dict[str, License] = {}
        self._holders: dict[str, dict[str, Properties]] = {}
        self._held: dict[str, dict[str, Properties]] = {}
        self._sites: dict[str, dict[str, str]] = {}
        self.generation = 0
        self.reset()

    def make(self, name: str, units: int, **options: Any) -> License:
        """A licence of this organization (not stored)."""
        return make_license(self.org_id, name, units, **options)

    # ----------------------------------------------------------------------- catalogue

    def put(self, licence: License) -> License:
        """Add a licence, or replace the one with its id (assignments stay)."""
        with self._lock:
            self._licenses[licence.id] = licence
            self._holders.setdefault(licence.id, {})
            self.generation += 1
        return licence

    def licenses(self) -> list[License]:
        with self._lock:
            return list(self._licenses.values())

    def get(self, license_id: str) -> License | None:
        return self._licenses.get(license_id)

    def consumed(self, license_id: str) -> int:
        return len(self._holders.get(license_id, ()))

    def holders(self, license_id: str) -> list[str]:
        """The ids of the users holding a licence, in assignment order."""
        with self._lock:
            return list(self._holders.get(license_id, ()))

    def held_by(self, user_id: str) -> dict[str, Properties]:
        """Licence id → Calling properties of the licences a user holds (catalogue order)."""
        with self._lock:
            held = self._held.get(user_id, {})
            return {lid: dict(held[lid]) for lid in self._licenses if lid in held}

    def sites_of(self, user_id: str) -> dict[str, str]:
        """Site URL → account type of a user's attendee sites."""
        with self._lock:
            return dict(self._sites.get(user_id, {}))

    # ----------------------------------------------------------------------- assignments

    def _outcome(
        self, user_id: str, changes: Iterable[LicenseChange]
    ) -> tuple[dict[str, Properties], list[str]]:
        """What the user would hold after ``changes``, and the adds refused for lack of units."""
        current = self._held.get(user_id, {})
        holding = dict(current)
        refused: list[str] = []
        for change in changes:
            lid = change.license_id
            if change.operation == "remove":
                holding.pop(lid, None)
            elif lid in holding:
                holding[lid] = dict(change.properties or holding[lid])
            elif self.consumed(lid) - (lid in current) >= self._licenses[lid].total_units:
                refused.append(lid)
            else:
                holding[lid] = dict(change.properties or {})
        return holding, refused

    def assign(
        self,
        user_id: str,
        changes: Iterable[LicenseChange],
        sites: Iterable[tuple[str, str, str]] = (),
        *,
        all_or_nothing: bool = False,
    ) -> list[str]:
        """Apply licence changes (in order) and attendee site changes ``(url, type, operation)``
        for one user. Returns the licence ids an ``add`` could not get for lack of free units;
        with ``all_or_nothing`` nothing is changed when there are some."""
        with self._lock:
            holding, refused = self._outcome(user_id, changes)
            if refused and all_or_nothing:
                return refused
            current = self._held.get(user_id, {})
            for lid in current.keys() - holding.keys():
                self._holders[lid].pop(user_id, None)
            for lid, properties in holding.items():
                self._holders.setdefault(lid, {})[user_id] = properties
            if holding:
                self._held[user_id] = holding
            else:
                self._held.pop(user_id, None)
            self._change_sites(user_id, sites)
            self.generation += 1
            return refused

    def _change_sites(self, user_id: str, sites: Iterable[tuple[str, str, str]]) -> None:
        mine = self._sites.setdefault(user_id, {})
        for url, account_type, operation in sites:
            if operation == "remove":
                mine.pop(url, None)
            else:
                mine[url] = account_type
        if not mine:
            del self._sites[user_id]

    def release(self, user_id: str) -> None:
        """A user was deleted: its units are free again."""
        with self._lock:
            for lid in self._held.pop(user_id, {}):
                self._holders.get(lid, {}).pop(user_id, None)
            self._sites.pop(user_id, None)
            self.generation += 1

    # ----------------------------------------------------------------------- state

    def reset(self) -> None:
        """Only the seeded licences, with nothing assigned."""
        self.restore({})

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "licenses": [
                    {k: v for k, v in vars(lic).items() if k != "id" and v is not None}
                    for lic in self._licenses.values()
                ],
                "license_assignments": {user: dict(held) for user, held in self._held.items()},
                "attendee_sites": {user: dict(sites) for user, sites in self._sites.items()},
            }

    def restore(self, snapshot: Mapping[str, Any]) -> None:
        """The licences of a ``snapshot`` then the seeded ones (their units win), and its assignments."""
        stored = [self.make(d["name"], d["total_units"], **_options(d)) for d in snapshot.get("licenses", [])]
        with self._lock:
            self._licenses = {lic.id: lic for lic in [*stored, *self._seeded]}
            self._holders = {lid: {} for lid in self._licenses}
            self._held = {}
            for user, held in snapshot.get("license_assignments", {}).items():
                known = {lid: dict(p) for lid, p in held.items() if lid in self._licenses}
                for lid, properties in known.items():
                    self._holders[lid][user] = properties
                if known:
                    self._held[user] = known
            self._sites = {user: dict(sites) for user, sites in snapshot.get("attendee_sites", {}).items()}
            self.generation += 1


def _options(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: data[k] for k in ("calling", "subscription_id", "site_url", "site_type") if k in data}
