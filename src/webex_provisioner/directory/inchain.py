"""Nested groups in one search per targeted group, with Active Directory's in-chain matching rule.

``(memberOf:1.2.840.113556.1.4.1941:=<group>)`` (LDAP_MATCHING_RULE_IN_CHAIN) matches every entry
that is a member of the group at any depth; the server walks the nesting, cycles included. It is
used when the server announces Active Directory (Windows or Samba) and nested groups are on; the
first time it fails, this adapter says so in the log and expands nested groups client-side from
then on (``groups.expand_membership``, which has its own cycle guard).

Each targeted group is read first, so a group that does not exist is still an error and never an
empty scope. A member found through the rule is ``member of G`` when it is a direct member and
``member of G through nested groups`` otherwise.
"""

from __future__ import annotations

import structlog
from ldap.filter import escape_filter_chars

from webex_provisioner.config import DirectoryConfig
from webex_provisioner.config.ldap_filter import all_of
from webex_provisioner.directory.ad import in_chain_filter, is_active_directory
from webex_provisioner.directory.connection import Connection
from webex_provisioner.directory.dn import normalize_dn
from webex_provisioner.directory.groups import (
    Membership,
    Targets,
    member_values,
    read_targeted_group,
    scope_targets,
)
from webex_provisioner.errors import DirectoryError, DirectoryIncompleteError, DirectoryUnavailableError

log = structlog.get_logger()


class InChainExpansion:
    """Targeted-group membership through the in-chain rule, while the server supports it.

    ``supported`` is ``None`` until the first use (then the root DSE is asked whether the server
    is Active Directory), ``True`` while the rule works and ``False`` once it did not.
    """

    def __init__(self, config: DirectoryConfig) -> None:
        self._config = config
        self.supported: bool | None = None

    def membership(self, conn: Connection, targets: Targets | None = None) -> Membership | None:
        """The membership of the targeted groups (or of ``targets``), or ``None`` when the rule
        cannot be used (nested groups off, not Active Directory, or the rule failed): expand
        client-side then."""
        targets = targets or scope_targets(self._config)
        if not targets.groups or not targets.nested or self.supported is False:
            return None
        if self.supported is None:
            self.supported = server_is_active_directory(conn)
            if not self.supported:
                return None
        direct = {
            target: read_targeted_group(conn, self._config, target, targets) for target in targets.groups
        }
        try:
            members = {target: self._in_chain_members(conn, target) for target in targets.groups}
        except (DirectoryUnavailableError, DirectoryIncompleteError):
            raise
        except DirectoryError as exc:
            self.supported = False
            log.warning(
                "directory.in_chain_failed",
                url=self._config.url,
                error=exc.message,
                detail="the in-chain matching rule (1.2.840.113556.1.4.1941) failed; nested groups are "
                "expanded client-side from now on",
            )
            return None
        reasons: dict[str, str] = {}
        for target in targets.groups:
            listed = {
                normalize_dn(v)
                for v in member_values(conn, target, direct[target], self._config.member_attributes)
            }
            for dn in members[target]:
                key = normalize_dn(dn)
                why = f"member of {target}" if key in listed else f"member of {target} through nested groups"
                if key not in reasons or key in listed:
                    reasons[key] = why
        return Membership(reasons=reasons, groups=targets.groups, nested=True)

    def _in_chain_members(self, conn: Connection, group: str) -> list[str]:
        config = self._config
        query = all_of(config.user_filter, in_chain_filter(escape_filter_chars(group)))
        return [
            dn
            for dn, _ in conn.search_all(
                config.base_dn, query, ["1.1"], what=f"members of {group} (in chain)"
            )
        ]


def server_is_active_directory(conn: Connection) -> bool:
    """Whether the root DSE announces Active Directory (``supportedCapabilities``)."""
    try:
        dse = conn.root_dse()
    except DirectoryUnavailableError:
        raise
    except DirectoryError:
        return False
    capabilities = [
        value.decode("ascii", "replace")
        for name, values in dse.items()
        if name.lower() == "supportedcapabilities"
        for value in values
    ]
    return is_active_directory(capabilities)


def in_chain_available(conn: Connection, base_dn: str) -> bool:
    """Whether a one-entry in-chain query is accepted (for ``check``): an AD server that answers
    ``(memberOf:1.2.840.113556.1.4.1941:=<base DN>)`` without an error."""
    if not server_is_active_directory(conn):
        return False
    try:
        conn.read(base_dn, in_chain_filter(escape_filter_chars(base_dn)), ["1.1"], what="the in-chain probe")
    except DirectoryUnavailableError:
        raise
    except DirectoryError:
        return False
    return True
