"""How ``InMemoryStateStore`` keeps licences as the SQL store does: grants staged over the stored
ones as a batch of records goes (all or nothing), times in UTC (a naive one refused), and the
values a database would refuse refused alike: an anchor or a licence id over 255 characters, an
e-mail over 320, any text holding NUL or a lone surrogate, a count out of the 32-bit range."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from webex_provisioner.errors import StateError
from webex_provisioner.model import Grant, License, LicenseAction, LicenseRefusal
from webex_provisioner.testing.state_values import aware

ID_LENGTH = 255
EMAIL_LENGTH = 320
CYCLE_ID_LENGTH = 64
INTEGERS = range(-(2**31), 2**31)


def checked(value: str, limit: int | None, name: str, where: str) -> str:
    """``value`` if a database keeps it as it is; else ``StateError`` saying why."""
    reason = None
    if limit is not None and len(value) > limit:
        reason = f"is {len(value)} characters long, more than the {limit} the state keeps"
    elif "\x00" in value:
        reason = "holds a NUL character"
    elif not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            reason = "is not Unicode text (it holds a lone surrogate)"
    if reason is not None:
        raise StateError(f"{where}: the {name} {value[:40]!r} {reason}; nothing was written")
    return value


def counted(value: int | None, name: str, where: str) -> None:
    """``StateError`` when ``value`` is out of what an integer column keeps."""
    if value is not None and value not in INTEGERS:
        raise StateError(
            f"{where}: the {name} {value} is out of the range the state keeps; nothing was written"
        )


def grant_in(grant: Grant, where: str) -> Grant:
    """``grant`` as stored: its texts checked, its time in UTC."""
    checked(grant.anchor, ID_LENGTH, "anchor", where)
    checked(grant.license_id, ID_LENGTH, "licence id", where)
    return replace(grant, since=aware(grant.since, where))


def license_in(item: License, where: str) -> License:
    checked(item.id, ID_LENGTH, "licence id", where)
    checked(item.name, None, "licence name", where)
    counted(item.total, "total of units", where)
    counted(item.consumed, "units consumed", where)
    return item


def catalog_in(licenses: Sequence[License], where: str) -> tuple[License, ...]:
    """The catalogue as stored: by name then id; a licence id listed twice is refused."""
    ids = [item.id for item in licenses]
    if len(set(ids)) != len(ids):
        raise StateError(f"{where}: a licence id is listed twice in the catalogue; nothing was written")
    return tuple(sorted((license_in(item, where) for item in licenses), key=lambda i: (i.name, i.id)))


def refusal_in(refusal: LicenseRefusal, where: str) -> LicenseRefusal:
    checked(refusal.anchor, ID_LENGTH, "anchor", where)
    checked(refusal.license_id, ID_LENGTH, "licence id", where)
    checked(refusal.detail, None, "detail", where)
    checked(refusal.rules, ID_LENGTH, "rules digest", where)
    counted(refusal.code, "code", where)
    return replace(refusal, at=aware(refusal.at, where))


def license_action_in(action: LicenseAction, cycle_id: str, where: str) -> LicenseAction:
    """``action`` as held: its texts checked, its items a tuple of its own."""
    checked(cycle_id, CYCLE_ID_LENGTH, "cycle id", where)
    checked(action.anchor, ID_LENGTH, "anchor", where)
    checked(action.email, EMAIL_LENGTH, "e-mail", where)
    checked(action.detail, None, "detail", where)
    if action.webex_id is not None:
        checked(action.webex_id, ID_LENGTH, "Webex id", where)
    for item in action.licenses:
        checked(item.license_id, ID_LENGTH, "licence id", where)
        checked(item.name, None, "licence name", where)
        checked(item.why, None, "reason", where)
    return replace(action, licenses=tuple(action.licenses))


class StagedGrants:
    """The grants by anchor and licence id as a batch leaves them: staged over ``stored`` (each
    anchor touched copied once) until ``apply``."""

    def __init__(self, stored: dict[str, dict[str, Grant]], where: str) -> None:
        self._stored, self._where = stored, where
        self._staged: dict[str, dict[str, Grant]] = {}

    def _of(self, anchor: str) -> dict[str, Grant]:
        if anchor not in self._staged:
            self._staged[anchor] = dict(self._stored.get(anchor, {}))
        return self._staged[anchor]

    def clear(self, anchor: str) -> None:
        """Drop every grant of ``anchor`` (its link is dropped)."""
        self._staged[anchor] = {}

    def drop(self, keys: Iterable[tuple[str, str]]) -> None:
        for anchor, license_id in keys:
            checked(license_id, ID_LENGTH, "licence id", self._where)
            self._of(checked(anchor, ID_LENGTH, "anchor", self._where)).pop(license_id, None)

    def save(self, grants: Iterable[Grant]) -> None:
        """Each grant replaces the one of its (anchor, licence)."""
        for grant in grants:
            self._of(grant.anchor)[grant.license_id] = grant_in(grant, self._where)

    def apply(self) -> None:
        for anchor, grants in self._staged.items():
            if grants:
                self._stored[anchor] = grants
            else:
                self._stored.pop(anchor, None)
