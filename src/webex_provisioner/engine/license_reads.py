"""What the licences phase reads from Webex: the catalogue (with its units), and which licences
some users hold already (before anything is assigned to them, so that a licence they had is
recorded as not ours).

Holdings are read the cheaper way (``rules.licenses.read_by_listing``): each user's licences
(People API, a request per user, concurrently), or the holders of the licences concerned (a page
per 300 holders). A user whose licences cannot be read gets nothing assigned this cycle.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import structlog

from webex_provisioner.errors import WebexError, WebexNotFoundError
from webex_provisioner.model import License
from webex_provisioner.ports import WebexLicenses
from webex_provisioner.rules.licenses import read_by_listing

log = structlog.get_logger("webex_provisioner.engine.license_reads")


@dataclass
class Holdings:
    """Licence ids held, by anchor, for the users that could be read and hold any (a user read
    and absent holds none: a 100,000-user first cycle keeps no empty set per user); why the
    users that could not be read could not."""

    held: dict[str, frozenset[str]] = field(default_factory=dict)
    unread: dict[str, str] = field(default_factory=dict)


def read_holdings(
    webex: WebexLicenses,
    users: Mapping[str, str],
    licences: Iterable[License],
    *,
    concurrency: int,
) -> Holdings:
    """What ``users`` (anchor → Webex id) hold of ``licences`` (and, read one by one, of any
    licence). A listing that fails leaves every user unread; a user that fails, only that one."""
    wanted = list(licences)
    if not users:
        return Holdings()
    if read_by_listing(len(users), wanted):
        return _by_listing(webex, users, wanted)
    return _one_by_one(webex, users, concurrency)


def _by_listing(webex: WebexLicenses, users: Mapping[str, str], licences: list[License]) -> Holdings:
    by_id = {webex_id: anchor for anchor, webex_id in users.items()}
    found: dict[str, set[str]] = {}
    result = Holdings()
    try:
        for licence in licences:
            for webex_id in webex.license_holders(licence.id):
                anchor = by_id.get(webex_id)
                if anchor is not None:
                    found.setdefault(anchor, set()).add(licence.id)
    except WebexError as exc:
        why = f"the holders of the licences could not be read: {exc.message}"
        log.warning("licenses.holders_unread", error=exc.message)
        return Holdings(unread=dict.fromkeys(users, why))
    result.held = {anchor: frozenset(ids) for anchor, ids in found.items()}
    return result


def _one_by_one(webex: WebexLicenses, users: Mapping[str, str], concurrency: int) -> Holdings:
    def read(item: tuple[str, str]) -> tuple[str, frozenset[str] | str]:
        anchor, webex_id = item
        try:
            return anchor, webex.user_licenses(webex_id)
        except WebexNotFoundError:
            return anchor, "the Webex user does not exist (deleted outside webex-provisioner?)"
        except WebexError as exc:
            return anchor, f"its licences could not be read: {exc.message}"

    result = Holdings()
    with ThreadPoolExecutor(
        max_workers=max(1, min(concurrency, len(users))), thread_name_prefix="licenses"
    ) as pool:
        for anchor, answer in pool.map(read, users.items()):
            if isinstance(answer, str):
                result.unread[anchor] = answer
            elif answer:
                result.held[anchor] = answer
    return result
