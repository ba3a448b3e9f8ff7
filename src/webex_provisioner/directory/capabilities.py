"""What ``check`` tells about a directory server beyond its root DSE: which ``directory.type`` it
looks like, whether DirSync and the in-chain rule are available to this bind account, and which
change detection cycles will use (``LdapDirectory.probe`` merges these keys in)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import structlog

from webex_provisioner.config import DirectoryConfig
from webex_provisioner.directory.ad import DIRSYNC_OID, is_active_directory
from webex_provisioner.directory.adcontrols import RESPONSE_CONTROLS, DirSyncControl, show_deleted
from webex_provisioner.directory.connection import Connection
from webex_provisioner.directory.dn import is_under
from webex_provisioner.directory.inchain import in_chain_available
from webex_provisioner.errors import DirectoryError, DirectoryUnavailableError

log = structlog.get_logger()

CONTENT_SYNC_OID = "1.3.6.1.4.1.4203.1.9.1.1"

# Root DSE values, attribute names in lower case -> decoded values.
Dse = Mapping[str, Sequence[str]]


def server_kind(dse: Dse) -> str:
    """The ``directory.type`` the server looks like (``generic`` when it cannot tell)."""
    if is_active_directory(dse.get("supportedcapabilities", [])):
        return "activedirectory"
    vendor = " ".join([*dse.get("vendorname", []), *dse.get("vendorversion", [])]).lower()
    if "389" in vendor or "red hat" in vendor:
        return "389ds"
    if "ping identity" in vendor or "unboundid" in vendor:
        return "pingdirectory"
    classes = {v.lower() for v in [*dse.get("objectclass", []), *dse.get("structuralobjectclass", [])]}
    if "openldaprootdse" in classes or "configcontext" in dse:
        return "openldap"
    return "generic"


def describe(conn: Connection, config: DirectoryConfig, dse: Dse) -> dict[str, str]:
    """``server_kind``, ``in_chain``, ``dirsync``, ``change_detection`` and, when the server looks
    like another type than ``directory.type``, a ``type_hint``."""
    kind = server_kind(dse)
    found: dict[str, str] = {"server_kind": kind}
    if kind not in (config.type, "generic") and config.type != "generic":
        found["type_hint"] = f"the server looks like {kind}; set directory.type: {kind}"
    if kind == "activedirectory":
        found["in_chain"] = "yes" if in_chain_available(conn, config.base_dn) else "no"
        found["dirsync"] = dirsync_access(conn, config, dse)
    else:
        found["in_chain"] = "no"
        found["dirsync"] = "no (not Active Directory)"
    found["change_detection"] = change_detection(config, dse, dirsync=found["dirsync"] == "yes")
    if kind == "activedirectory" and not found["change_detection"].startswith(("DirSync", "none")):
        contexts = [c for c in dse.get("namingcontexts", []) if c and is_under(config.base_dn, c)]
        readable = bool(contexts) and tombstones_readable(conn, max(contexts, key=len))
        found["tombstones"] = (
            "yes"
            if readable
            else "no (the bind account cannot read CN=Deleted Objects: deleted users are found by full "
            "cycles only)"
        )
    return found


def tombstones_readable(conn: Connection, naming_context: str) -> bool:
    """Whether this account sees deleted objects: ``CN=Deleted Objects`` with its ``isDeleted``
    readable under the Show Deleted control (an account without the right sees the container
    empty, or not at all, and would find no tombstone without any error)."""
    try:
        found, _controls = conn.search_with_controls(
            f"CN=Deleted Objects,{naming_context}",
            "(objectClass=*)",
            ["isDeleted"],
            [show_deleted()],
            what="the deleted objects container",
            base_only=True,
        )
    except DirectoryUnavailableError:
        raise
    except DirectoryError:
        return False
    return any(name.lower() == "isdeleted" for _dn, attrs in found for name in attrs)


def dirsync_access(conn: Connection, config: DirectoryConfig, dse: Dse) -> str:
    """``yes`` when a DirSync search of the domain answers for this bind account, else why not."""
    if DIRSYNC_OID not in dse.get("supportedcontrol", []):
        return "no (the server does not offer the DirSync control)"
    contexts = [c for c in dse.get("namingcontexts", []) if c and is_under(config.base_dn, c)]
    if not contexts:
        return f"no (no naming context holds {config.base_dn})"
    try:
        conn.search_with_controls(
            max(contexts, key=len),
            "(objectClass=domainDNS)",
            ["objectGUID"],
            [DirSyncControl()],
            RESPONSE_CONTROLS,
            what="the DirSync probe",
        )
    except DirectoryUnavailableError:
        raise
    except DirectoryError as exc:
        log.info("directory.dirsync_probe", error=exc.message)
        return (
            f"no (refused for {config.bind_dn or '(anonymous)'}: grant it 'Replicating Directory Changes' "
            "on the domain)"
        )
    return "yes"


def change_detection(config: DirectoryConfig, dse: Dse, *, dirsync: bool) -> str:
    """Which change detection incremental cycles will use, in words."""
    mode = config.change_detection
    if mode == "none":
        return "none: every cycle is a full cycle"
    if config.type == "activedirectory":
        host = ", ".join(dse.get("dnshostname", [])) or config.url
        usn = f"uSNChanged on the pinned domain controller {host}, deletes from tombstones"
        if mode in ("auto", "dirsync") and dirsync:
            return "DirSync (cookie), deletes included"
        if mode in ("auto", "dirsync"):
            return f"{usn} (DirSync is not available to this account)"
        return usn
    content_sync = CONTENT_SYNC_OID in dse.get("supportedcontrol", [])
    if mode == "content_sync" or (mode == "auto" and content_sync and config.anchor.lower() == "entryuuid"):
        return "content sync (RFC 4533)" + ("" if content_sync else ", but the server does not offer it")
    return "modifyTimestamp polling (deletes are seen by full cycles only)"
