"""A real 389 Directory Server for tests, in a temporary directory, without systemd or dscreate.

``dscreate`` installs into ``/etc/dirsrv`` and ``/var/lib/dirsrv`` and expects systemd. This does
what its first step does, privately: it renders the packaged ``template-dse.ldif`` with every path
(config, schema, database, logs, locks, run, LDAPI socket) under its own directory, copies the
schema and collation files, and runs ``ns-slapd -d 0`` in the foreground on a free port of
127.0.0.1. Then it adds the ``userRoot`` backend for the suffix over LDAP, like ``dscreate`` would::

    with ThrowawayDirSrv() as ds:             # about 2 s
        ds.add("uid=ann,ou=people,dc=example,dc=com", {"objectClass": "inetOrgPerson", ...})

``ns-slapd`` drops its privileges to the ``dirsrv`` user the Debian package creates (root is
needed to start it). ``close`` stops it by its PID and removes the directory.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import pwd
import re
import secrets
import shutil
import subprocess
import tempfile
import time
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import ldap
import ldap.modlist

from webex_provisioner.sandbox.processes import HOST, Values, bind, free_port, ldap_values, terminate
from webex_provisioner.sandbox.slapdconf import SandboxError, find_program

ROOT_DN = "cn=Directory Manager"
SUFFIX = "dc=example,dc=com"
TEMPLATES = Path("/usr/share/dirsrv/data")
SYSTEM_CONFIG = Path("/etc/dirsrv")


@dataclass
class _Process:
    popen: subprocess.Popen[bytes] | None = None
    workdir: Path | None = None


def _finalize(process: _Process) -> None:
    if process.popen is not None:
        terminate(process.popen, 20)
    process.popen = None
    if process.workdir is not None:
        shutil.rmtree(process.workdir, ignore_errors=True)


def dirsrv_missing() -> str | None:
    """Why a 389 Directory Server cannot run here, or ``None`` when it can (a pytest skip reason)."""
    if os.geteuid() != 0:
        return "ns-slapd must be started as root (it then runs as the dirsrv user)"
    try:
        find_program("ns-slapd")
        pwd.getpwnam("dirsrv")
    except (SandboxError, KeyError):
        return "389-ds-base is not installed (apt-get install 389-ds-base)"
    if not (TEMPLATES / "template-dse.ldif").is_file():
        return f"{TEMPLATES}/template-dse.ldif is missing (apt-get install 389-ds-base)"
    return None


def ssha512(password: str) -> str:
    """``{SSHA512}``: a salted SHA-512 hash 389 DS accepts for the root password."""
    salt = secrets.token_bytes(16)
    digest = hashlib.sha512(password.encode("utf-8") + salt).digest()
    return "{SSHA512}" + base64.b64encode(digest + salt).decode("ascii")


class ThrowawayDirSrv:
    """A 389 Directory Server of its own on 127.0.0.1, with ``SUFFIX`` in a ``userRoot`` backend."""

    def __init__(self, *, suffix: str = SUFFIX, start_timeout: float = 30.0) -> None:
        missing = dirsrv_missing()
        if missing:
            raise SandboxError(f"cannot run a 389 Directory Server: {missing}")
        self.suffix = suffix
        self.root_dn = ROOT_DN
        self.root_pw = f"Ds-{secrets.token_urlsafe(12)}"
        self.start_timeout = start_timeout
        self.port = free_port()
        self._process = _Process(workdir=Path(tempfile.mkdtemp(prefix="throwaway-389ds-")))
        self.workdir: Path = self._process.workdir  # type: ignore[assignment]
        self._finalizer = weakref.finalize(self, _finalize, self._process)

    @property
    def uri(self) -> str:
        return f"ldap://{HOST}:{self.port}"

    @property
    def config_dir(self) -> Path:
        return self.workdir / "config"

    def _write_instance(self) -> None:
        work, config = self.workdir, self.config_dir
        paths = {name: work / name for name in ("db", "log", "lock", "run", "tmp", "ldif", "bak", "inst")}
        for path in (*paths.values(), config):
            path.mkdir(parents=True, exist_ok=True)
        shutil.copytree(SYSTEM_CONFIG / "schema", config / "schema", dirs_exist_ok=True)
        for name in ("slapd-collations.conf", "certmap.conf"):
            shutil.copy(SYSTEM_CONFIG / "config" / name, config / name)
        values = {
            "schema_dir": str(config / "schema"),
            "lock_dir": str(paths["lock"]),
            "tmp_dir": str(paths["tmp"]),
            "cert_dir": str(config),
            "ldif_dir": str(paths["ldif"]),
            "bak_dir": str(paths["bak"]),
            "run_dir": str(paths["run"]),
            "inst_dir": str(paths["inst"]),
            "log_dir": str(paths["log"]),
            "fqdn": "localhost",
            "ds_port": str(self.port),
            "ds_user": "dirsrv",
            "rootdn": self.root_dn,
            "ds_passwd": ssha512(self.root_pw),
            "ds_suffix": self.suffix,
            "config_dir": str(config),
            "db_dir": str(paths["db"]),
            "db_home_dir": str(paths["db"]),
            "db_lib": "bdb",
            "ldapi_enabled": "off",
            "ldapi": str(paths["run"] / "slapd.socket"),
            "ldapi_autobind": "off",
        }
        template = (TEMPLATES / "template-dse.ldif").read_text(encoding="utf-8")
        dse = re.sub(r"%(\w+)%", lambda m: values[m.group(1)], template)
        dse = dse.replace(
            f"nsslapd-port: {self.port}\n", f"nsslapd-port: {self.port}\nnsslapd-listenhost: {HOST}\n", 1
        )
        (config / "dse.ldif").write_text(dse, encoding="utf-8")
        user = pwd.getpwnam("dirsrv")
        for root, dirs, files in os.walk(work):
            for name in (*dirs, *files):
                os.chown(os.path.join(root, name), user.pw_uid, user.pw_gid)
        os.chown(work, user.pw_uid, user.pw_gid)

    def start(self) -> None:
        """Write the instance, start ``ns-slapd`` and add the suffix's backend and root entry."""
        if self._process.popen is not None:
            return
        self._write_instance()
        log = (self.workdir / "ns-slapd.out").open("ab")
        try:
            self._process.popen = subprocess.Popen(
                [
                    find_program("ns-slapd"),
                    "-D",
                    str(self.config_dir),
                    "-i",
                    str(self.workdir / "run" / "pid"),
                    "-d",
                    "0",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        finally:
            log.close()
        self._wait_until_up()
        rdn = self.suffix.split(",", 1)[0].split("=", 1)
        self.add(
            "cn=userRoot,cn=ldbm database,cn=plugins,cn=config",
            {
                "objectClass": ["top", "extensibleObject", "nsBackendInstance"],
                "cn": "userRoot",
                "nsslapd-suffix": self.suffix,
            },
        )
        self.add(
            f'cn="{self.suffix}",cn=mapping tree,cn=config',
            {
                "objectClass": ["top", "extensibleObject", "nsMappingTree"],
                "cn": self.suffix,
                "nsslapd-state": "backend",
                "nsslapd-backend": "userRoot",
            },
        )
        self.add(self.suffix, {"objectClass": ["top", "domain"], rdn[0]: rdn[1]})

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            popen = self._process.popen
            if popen is None or popen.poll() is not None:
                raise SandboxError(f"ns-slapd exited while starting: {self._log_tail()}")
            with contextlib.suppress(ldap.LDAPError):
                self.connect().unbind_s()
                return
            time.sleep(0.2)
        raise SandboxError(
            f"ns-slapd did not answer on {self.uri} within {self.start_timeout:.0f} s: {self._log_tail()}"
        )

    def _log_tail(self) -> str:
        texts = []
        for name in ("ns-slapd.out", "log/errors"):
            with contextlib.suppress(OSError):
                texts.append((self.workdir / name).read_text(encoding="utf-8", errors="replace")[-1500:])
        return " | ".join(texts) or "(no log)"

    def close(self) -> None:
        self._finalizer()

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- data ---------------------------------------------------------------------------------

    def connect(self) -> Any:
        """A python-ldap connection bound as the Directory Manager; the caller unbinds it."""
        return bind(self.uri, self.root_dn, self.root_pw)

    def add(self, dn: str, attributes: Mapping[str, Values]) -> str:
        conn = self.connect()
        try:
            conn.add_s(dn, ldap.modlist.addModlist({k: ldap_values(v) for k, v in attributes.items()}))
        finally:
            conn.unbind_s()
        return dn

    def modify(self, dn: str, changes: Sequence[tuple[int, str, Values | None]]) -> None:
        conn = self.connect()
        try:
            conn.modify_s(dn, [(op, name, None if v is None else ldap_values(v)) for op, name, v in changes])
        finally:
            conn.unbind_s()

    def rename(self, dn: str, new_rdn: str) -> str:
        conn = self.connect()
        try:
            conn.rename_s(dn, new_rdn)
        finally:
            conn.unbind_s()
        return f"{new_rdn},{dn.split(',', 1)[1]}"
