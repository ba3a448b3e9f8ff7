"""The licence rules' labels on directory users (docs/licenses.md): which users a rule's group
contains, and which users a rule's filter matches.

``LdapDirectory`` is told which labels to put on (``Config.license_labels()``): ``group:<DN>``
and ``filter:<LDAP filter>`` (``model.licenses``). ``RuleLabels`` holds them by kind:

* A **group label**'s group is expanded like the targeted groups (``groups.expand_membership``,
  nested as ``directory.scope.nested_groups``, through Active Directory's in-chain rule where the
  targeted groups use it) into the normalized DNs of its members (``RuleMembers``), once per
  read. The change feeds keep these sets in their baselines, to find who entered or left.
* A **filter label** is matched by the server, never here, as ``(&(user_filter)(filter))``: in a
  full read one DN-only search under the base DN per filter; for one user a read of its entry;
  for changed users one search per filter and batch of anchors (``labels.Labeller``).

A rule's group that does not exist is a ``DirectoryError`` raised before any user is labelled (a
missing group would take its licences from every member), and so is a filter the server refuses.
Without labels nothing is read.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

import ldap

from webex_provisioner.config import DirectoryConfig
from webex_provisioner.config.ldap_filter import all_of
from webex_provisioner.directory.connection import Connection, describe
from webex_provisioner.directory.dn import normalize_dn
from webex_provisioner.directory.groups import NestedGroupCandidates, Targets, expand_membership
from webex_provisioner.directory.inchain import InChainExpansion
from webex_provisioner.errors import (
    DirectoryAuthError,
    DirectoryError,
    DirectoryIncompleteError,
    DirectoryUnavailableError,
)

RuleMembers = Mapping[str, frozenset[str]]
"""Group label -> the normalized DNs of the group's members (through nested groups when on)."""

NO_LABELS: frozenset[str] = frozenset()
RULES_KEY = "licenses.rules"


class RuleLabels:
    """The labels a directory puts on its users, by kind: ``groups`` (label -> group DN) and
    ``filters`` (label -> LDAP filter). False when there are none."""

    def __init__(self, config: DirectoryConfig, labels: Iterable[str] = ()) -> None:
        self.config = config
        groups: dict[str, str] = {}
        filters: dict[str, str] = {}
        for label in labels:
            kind, _, value = label.partition(":")
            if kind == "group" and value:
                groups[label] = value
            elif kind == "filter" and value:
                filters[label] = value
            else:
                raise ValueError(f"{label[:200]!r} is not a licence rule label (group:DN or filter:FILTER)")
        self.groups: Mapping[str, str] = groups
        self.filters: Mapping[str, str] = filters

    def __bool__(self) -> bool:
        return bool(self.groups or self.filters)

    @property
    def labels(self) -> tuple[str, ...]:
        """Every label, sorted."""
        return tuple(sorted({*self.groups, *self.filters}))

    def members(
        self, conn: Connection, in_chain: InChainExpansion | None = None
    ) -> dict[str, frozenset[str]]:
        """Each group label's members now, through ``in_chain`` when given and usable, else
        client-side; nothing is read without group labels. ``DirectoryError`` when a rule's group
        does not exist or is no group."""
        if not self.groups:
            return {}
        candidates = NestedGroupCandidates(conn, self.config, list(self.groups.values()))
        found: dict[str, frozenset[str]] = {}
        for label, dn in self.groups.items():
            targets = Targets(
                (dn,),
                self.config.scope.nested_groups,
                what="licence rule's group",
                key=RULES_KEY,
                missing="a missing group would take its licences from every member",
            )
            membership = in_chain.membership(conn, targets) if in_chain is not None else None
            if membership is None:
                membership = expand_membership(conn, self.config, candidates, targets)
            found[label] = frozenset(membership.reasons)
        return found

    def matching_dns(self, conn: Connection) -> dict[str, frozenset[str]]:
        """Each filter label's users now (normalized DNs): one DN-only search per filter."""
        config = self.config
        found: dict[str, frozenset[str]] = {}
        for label, rule_filter in self.filters.items():
            with self.refused(rule_filter):
                found[label] = frozenset(
                    normalize_dn(dn)
                    for dn, _ in conn.search_all(
                        config.base_dn,
                        all_of(config.user_filter, rule_filter),
                        ["1.1"],
                        what="directory users matching a licence rule's filter",
                    )
                )
        return found

    def entry_labels(self, conn: Connection, dn: str, members: RuleMembers) -> frozenset[str]:
        """The labels of the one user at ``dn``: its groups' from ``members``, and one read of
        its entry per filter."""
        key = normalize_dn(dn)
        found = [label for label, dns in members.items() if key in dns]
        for label, rule_filter in self.filters.items():
            with self.refused(rule_filter):
                wanted = all_of(self.config.user_filter, rule_filter)
                if conn.read(dn, wanted, ["1.1"], what="the directory user") is not None:
                    found.append(label)
        return frozenset(found) if found else NO_LABELS

    @contextmanager
    def refused(self, rule_filter: str) -> Iterator[None]:
        """Say which rule's filter a search failed on when the server refused it (an outage,
        an incomplete read or a refused bind pass unchanged)."""
        try:
            yield
        except (DirectoryUnavailableError, DirectoryIncompleteError, DirectoryAuthError):
            raise
        except DirectoryError as exc:
            cause = exc.__cause__
            detail = describe(cause) if isinstance(cause, ldap.LDAPError) else exc.message
            raise DirectoryError(
                f"the licence rule filter {rule_filter} was refused by the directory at "
                f"{self.config.url} ({detail}); fix the filter in {RULES_KEY}. Nothing was concluded"
            ) from exc


class DnLabels:
    """The labels of a user by its DN, from each label's set of normalized DNs. Users share one
    frozenset per combination of labels (100,000 users carry a handful)."""

    def __init__(self, sets: Mapping[str, frozenset[str]]) -> None:
        self._sets = sorted(sets.items())
        self._shared: dict[tuple[str, ...], frozenset[str]] = {}

    def __call__(self, dn: str) -> frozenset[str]:
        if not self._sets:
            return NO_LABELS
        key = normalize_dn(dn)
        found = tuple([label for label, dns in self._sets if key in dns])
        shared = self._shared.get(found)
        if shared is None:
            shared = self._shared[found] = frozenset(found)
        return shared
