"""Finding the Webex users that unlinked directory users may be linked to, by e-mail.

Every create is preceded by this lookup (docs/lifecycle.md, "No duplicates"): one ``userName eq``
search per e-mail, or, when many users are new, one listing of the whole organization, which is
cheaper.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from webex_provisioner.errors import WebexAuthError, WebexError, WebexUnavailableError
from webex_provisioner.model import WebexGroup, WebexUser
from webex_provisioner.model.keys import fold_email
from webex_provisioner.ports import WebexClient, WebexGroups
from webex_provisioner.rules.groups import fold_name

# Above this many e-mails, listing the whole organization is cheaper than one lookup per e-mail
# (a list page carries up to 1,000 users).
LIST_INSTEAD_OF_LOOKUP = 200


def match_in_webex(
    webex: WebexClient, emails: Sequence[str], *, concurrency: int
) -> tuple[dict[str, WebexUser], dict[str, str]]:
    """The Webex users with these e-mails (by lower-cased e-mail), and the e-mails whose lookup
    Webex refused (with the error): those users wait for the next cycle. Webex being unreachable
    or the token being refused raises: that fails the cycle, not each user."""
    if not emails:
        return {}, {}
    wanted = {fold_email(e) for e in emails}
    if len(wanted) > LIST_INSTEAD_OF_LOOKUP:
        listed = webex.list_users()
        return {fold_email(u.email): u for u in listed if fold_email(u.email) in wanted}, {}

    def lookup(email: str) -> tuple[str, WebexUser | None, str | None]:
        try:
            return email, webex.find_by_email(email), None
        except (WebexUnavailableError, WebexAuthError):
            raise
        except WebexError as exc:
            return email, None, exc.message

    matches: dict[str, WebexUser] = {}
    failures: dict[str, str] = {}
    with ThreadPoolExecutor(concurrency, thread_name_prefix="lookup") as pool:
        for email, user, error in pool.map(lookup, sorted(wanted)):
            if error is not None:
                failures[email] = error
            elif user is not None:
                matches[fold_email(user.email)] = user
    return matches, failures


GROUP_LIST_FROM = 20
"""From this many names on, one listing of the organization's groups is cheaper than a search
per name (a list page carries up to 100 groups)."""


def match_groups(
    webex: WebexGroups, names: Sequence[str], *, list_from: int = GROUP_LIST_FROM
) -> dict[str, WebexGroup]:
    """The existing Webex groups with these names, by folded name (a listing when there are many)."""
    if not names:
        return {}
    wanted = {fold_name(name) for name in names}
    if len(wanted) >= list_from:
        return {fold_name(g.name): g for g in webex.list_groups() if fold_name(g.name) in wanted}
    found: dict[str, WebexGroup] = {}
    for name in sorted(wanted):
        group = webex.find_group(name)
        if group is not None:
            found[fold_name(group.name)] = group
    return found
