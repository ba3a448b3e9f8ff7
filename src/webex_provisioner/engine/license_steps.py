"""Each licence action against ``PATCH /v1/licenses/users``: one request per user and phase (the
sender of licence actions).

An assignment records a grant *ours* for each licence Webex says the user now holds; one it
did not assign (206: no free units, say) is reported for that user and asked again next cycle.
A request Webex refuses with a documented code that does not pass by itself is sent again one
licence at a time, to find the licence refused; each refused licence is remembered (a
``LicenseRefusal``) and not asked again while the rules stand. A reclaim forgets the grants of
the licences given back. Sending again is harmless: adding a licence held or removing one not
held changes nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import structlog

from webex_provisioner.engine.senders import Done
from webex_provisioner.errors import ProvisionerError, WebexError, WebexNotFoundError
from webex_provisioner.model import (
    ActionKind,
    AuditEntry,
    Grant,
    LicenseAction,
    LicenseItem,
    LicenseRefusal,
    Outcome,
)
from webex_provisioner.ports import Record, WebexLicenses
from webex_provisioner.rules.licenses import UNKNOWN_LICENSE, refusal_lasts
from webex_provisioner.rules.outcomes import stops_the_apply

log = structlog.get_logger("webex_provisioner.engine.license_steps")


@dataclass
class _Result:
    """What one licence action came to: the grants to save or forget, and what failed."""

    assigned: list[LicenseItem] = field(default_factory=list)
    missing: list[tuple[LicenseItem, str]] = field(default_factory=list)
    refused: list[tuple[LicenseItem, int | None, str]] = field(default_factory=list)


class LicenseSender:
    """Applies licence actions, one user's request at a time. ``refusals`` collects the lasting
    refusals met, and ``catalog_stale`` says Webex did not recognise a licence id (the
    catalogue must be read again)."""

    def __init__(
        self, webex: WebexLicenses, *, cycle_id: str, clock: Callable[[], datetime], rules_digest: str
    ) -> None:
        self._webex = webex
        self._cycle_id = cycle_id
        self._clock = clock
        self._rules = rules_digest
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.refusals: list[LicenseRefusal] = []
        self.catalog_stale = False

    def units(self, actions: Sequence[LicenseAction]) -> Iterator[Sequence[LicenseAction]]:
        return ([action] for action in actions)

    def stopped(self) -> bool:
        return self._stop.is_set()

    def send(self, unit: Sequence[LicenseAction]) -> Done[LicenseAction]:
        action = unit[0]
        started = time.monotonic()
        if action.webex_id is None:
            detail = "the user is not in Webex (its create did not succeed); the next cycle assigns it"
            return [(action, self._record(action, Outcome.SKIPPED, detail))], None
        try:
            if action.kind is ActionKind.RECLAIM_LICENSE:
                record = self._reclaim(action, action.webex_id)
            else:
                record = self._assign(action, action.webex_id)
        except ProvisionerError as exc:
            if stops_the_apply(exc):
                self._stop.set()
                return [], exc
            record = self._record(action, Outcome.FAILED, _failure(action, exc))
        log.info(
            "license action",
            cycle=self._cycle_id,
            anchor=action.anchor,
            action=action.kind.value,
            licenses=len(action.licenses),
            outcome=record.audit.outcome.value,
            ms=round((time.monotonic() - started) * 1000, 1),
        )
        return [(action, record)], None

    # -- reclaim -----------------------------------------------------------------------------------

    def _reclaim(self, action: LicenseAction, webex_id: str) -> Record:
        ids = list(action.license_ids)
        try:
            held = self._webex.change_licenses(webex_id, remove=ids).held
        except WebexNotFoundError:
            detail = "the Webex user no longer exists (its licences went with it); forgotten"
            return self._record(action, Outcome.SKIPPED, detail, drop=ids)
        kept = [i for i in action.licenses if i.license_id in held]
        if kept:
            detail = f"Webex still lists {_names(kept)} for this user; the next cycle tries again"
            gone = [i for i in ids if i not in held]
            return self._record(action, Outcome.FAILED, detail, drop=gone)
        return self._record(action, Outcome.APPLIED, _names(action.licenses), drop=ids)

    # -- assign ------------------------------------------------------------------------------------

    def _assign(self, action: LicenseAction, webex_id: str) -> Record:
        result = _Result()
        self._add(webex_id, list(action.licenses), result)
        now = self._clock()
        grants = tuple(Grant(action.anchor, i.license_id, ours=True, since=now) for i in result.assigned)
        self._remember(action, result.refused)
        problems = [f"{i.name}: {why}" for i, why in result.missing]
        problems += [f"{i.name}: refused by Webex ({why})" for i, _, why in result.refused]
        if not problems:
            return self._record(action, Outcome.APPLIED, _names(action.licenses), save=grants)
        done = f"assigned {_names(result.assigned)}; " if result.assigned else ""
        return self._record(
            action, Outcome.FAILED, done + "not assigned: " + "; ".join(problems), save=grants
        )

    def _add(self, webex_id: str, items: list[LicenseItem], result: _Result) -> None:
        """Add ``items``; a lasting refusal of several is sent again one licence at a time."""
        try:
            answer = self._webex.change_licenses(webex_id, add=[i.license_id for i in items])
        except WebexError as exc:
            if exc.code == UNKNOWN_LICENSE:
                self.catalog_stale = True
            if not refusal_lasts(exc.code) or stops_the_apply(exc):
                raise
            if len(items) > 1:
                for item in items:
                    self._add(webex_id, [item], result)
                return
            result.refused.append((items[0], exc.code, exc.message))
            return
        for item in items:
            if item.license_id in answer.held:
                result.assigned.append(item)
            else:
                result.missing.append(
                    (item, "Webex did not assign it (206: no free unit, or not assignable)")
                )

    def _remember(
        self, action: LicenseAction, refused: Sequence[tuple[LicenseItem, int | None, str]]
    ) -> None:
        if not refused:
            return
        now = self._clock()
        with self._lock:
            self.refusals += [
                LicenseRefusal(action.anchor, item.license_id, code, why[:500], self._rules, now)
                for item, code, why in refused
            ]

    # -- records -----------------------------------------------------------------------------------

    def _record(
        self,
        action: LicenseAction,
        outcome: Outcome,
        detail: str,
        *,
        save: tuple[Grant, ...] = (),
        drop: Sequence[str] = (),
    ) -> Record:
        entry = AuditEntry.of(
            action,
            self._cycle_id,
            self._clock(),
            outcome,
            subject=action.email,
            webex_id=action.webex_id,
            detail=detail,
        )
        return Record(entry, save_grants=save, drop_grants=tuple((action.anchor, i) for i in drop))


def _names(items: Sequence[LicenseItem]) -> str:
    return ", ".join(item.name for item in items)


def _failure(action: LicenseAction, exc: ProvisionerError) -> str:
    if isinstance(exc, WebexNotFoundError):
        return (
            f"the Webex user of {action.email} does not exist (deleted outside webex-provisioner?); "
            "the next full cycle finds out"
        )
    if isinstance(exc, WebexError) and exc.code == UNKNOWN_LICENSE:
        return (
            f"Webex does not recognise a licence of {_names(action.licenses)} (renamed or removed?); "
            "the next cycle reads the licences again"
        )
    return exc.message
