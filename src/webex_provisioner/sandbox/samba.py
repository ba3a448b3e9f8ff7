"""A real Active Directory for tests: Samba 4 as an AD domain controller in a temporary directory.

``ThrowawaySambaDC`` provisions a throwaway domain (``samba-tool domain provision --targetdir``,
``--use-rfc2307``, ``--dns-backend=NONE``) with every file Samba writes (private, state, cache,
lock, pid, sockets, logs) under its own directory, allows simple binds without TLS (``ldap server
require strong auth = no``), and runs ``samba -F`` with only its LDAP service, on 127.0.0.1::

    with ThrowawaySambaDC() as dc:            # provisions (about 7 s) and starts (about 2 s)
        ou = dc.add_ou("people")
        alice = dc.add_user(ou, "alice", mail="alice@example.test")
        print(dc.guid(alice))                 # the canonical objectGUID string

Samba listens on the standard LDAP ports (389 and 636), so only one can run on a machine: ``start``
takes an exclusive file lock (``LOCK_FILE``) and waits for it, so concurrent test runs queue
instead of colliding. ``stop`` ends the server by its PID; ``close`` also removes the directory.
Samba's AD DC runs as root (``apt-get install samba samba-ad-dc samba-ad-provision``).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

import ldap
import ldap.modlist

from webex_provisioner.directory.guid import guid_from_bytes
from webex_provisioner.sandbox.processes import HOST, Values, bind, bound, ldap_values, terminate
from webex_provisioner.sandbox.slapdconf import SandboxError, find_program

LDAP_PORT = 389
LOCK_FILE = Path(tempfile.gettempdir()) / "webex-provisioner-samba-389.lock"
REALM = "EXAMPLE.TEST"
DOMAIN = "EXAMPLE"


@dataclass
class _Process:
    popen: subprocess.Popen[bytes] | None = None
    lock: IO[bytes] | None = None
    workdir: Path | None = None
    remove_workdir: bool = False


def _stop(process: _Process, grace: float = 15.0) -> None:
    if process.popen is not None:
        terminate(process.popen, grace)
        process.popen = None
    if process.lock is not None:
        fcntl.flock(process.lock, fcntl.LOCK_UN)
        process.lock.close()
        process.lock = None


def _finalize(process: _Process) -> None:
    _stop(process)
    if process.remove_workdir and process.workdir is not None:
        shutil.rmtree(process.workdir, ignore_errors=True)


def samba_missing() -> str | None:
    """Why a Samba AD DC cannot run here, or ``None`` when it can (for a pytest skip reason)."""
    if os.geteuid() != 0:
        return "Samba's AD DC must run as root"
    for program in ("samba", "samba-tool"):
        try:
            find_program(program)
        except SandboxError:
            return f"{program} is not installed (apt-get install samba samba-ad-dc samba-ad-provision)"
    if not Path("/usr/share/samba/setup/ad-schema").is_dir():
        return "the AD schema files are not installed (apt-get install samba-ad-provision)"
    return None


class ThrowawaySambaDC:
    """A Samba AD DC of its own: ``provision()`` once, then ``start()``/``stop()`` as needed."""

    def __init__(
        self,
        *,
        realm: str = REALM,
        domain: str = DOMAIN,
        workdir: str | os.PathLike[str] | None = None,
        start_timeout: float = 90.0,
    ) -> None:
        self.realm = realm.upper()
        self.domain = domain.upper()
        self.base_dn = ",".join(f"DC={part}" for part in realm.lower().split("."))
        self.admin_dn = f"CN=Administrator,CN=Users,{self.base_dn}"
        self.admin_password = f"Adm1n-{secrets.token_urlsafe(12)}"
        self.start_timeout = start_timeout
        self._process = _Process()
        if workdir is None:
            self._process.workdir = Path(tempfile.mkdtemp(prefix="throwaway-samba-"))
            self._process.remove_workdir = True
        else:
            self._process.workdir = Path(workdir)
            self._process.workdir.mkdir(parents=True, exist_ok=True)
        self.workdir: Path = self._process.workdir
        self._provisioned = False
        self._finalizer = weakref.finalize(self, _finalize, self._process)

    @property
    def uri(self) -> str:
        return f"ldap://{HOST}:{LDAP_PORT}"

    @property
    def config_file(self) -> Path:
        return self.workdir / "etc" / "smb.conf"

    @property
    def log_file(self) -> Path:
        return self.workdir / "samba.out"

    @property
    def pid(self) -> int | None:
        popen = self._process.popen
        return popen.pid if popen is not None and popen.poll() is None else None

    # -- lifecycle ----------------------------------------------------------------------------

    def provision(self) -> None:
        """Create the domain (``samba-tool domain provision``) and write its ``smb.conf``."""
        if self._provisioned:
            return
        missing = samba_missing()
        if missing:
            raise SandboxError(f"cannot provision a Samba AD DC: {missing}")
        run = self.workdir / "run"
        options = {
            "interfaces": HOST,
            "bind interfaces only": "yes",
            "pid directory": str(run),
            "ncalrpc dir": str(run / "ncalrpc"),
            "winbindd socket directory": str(run / "winbindd"),
            "ntp signd socket directory": str(run / "ntp_signd"),
            "log file": str(self.workdir / "log" / "samba.log"),
        }
        command = [
            find_program("samba-tool"),
            "domain",
            "provision",
            f"--targetdir={self.workdir}",
            f"--realm={self.realm}",
            f"--domain={self.domain}",
            "--server-role=dc",
            "--use-rfc2307",
            "--dns-backend=NONE",
            "--host-name=dc1",
            f"--adminpass={self.admin_password}",
            *(f"--option={name}={value}" for name, value in options.items()),
        ]
        result = subprocess.run(command, capture_output=True, text=True, check=False, env=_clean_env())
        (self.workdir / "provision.log").write_text(result.stdout + result.stderr, encoding="utf-8")
        if result.returncode != 0:
            tail = (result.stderr or result.stdout).strip()[-2000:]
            raise SandboxError(f"samba-tool domain provision failed (exit {result.returncode}): {tail}")
        self._write_config()
        self._provisioned = True

    def _write_config(self) -> None:
        """Only the LDAP service; simple binds without TLS (tests only)."""
        lines = []
        for original in self.config_file.read_text(encoding="utf-8").splitlines():
            line = "\tserver services = ldap" if original.strip().startswith("server services") else original
            lines.append(line)
            if line.strip() == "[global]":
                lines.append("\tldap server require strong auth = no")
        self.config_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
        for folder in ("run", "log"):
            (self.workdir / folder).mkdir(exist_ok=True)

    def start(self) -> None:
        """Start ``samba -F`` (after ``provision`` if needed) and wait until LDAP answers."""
        if self.pid is not None:
            return
        self.provision()
        self._take_port_lock()
        if _port_open(HOST, LDAP_PORT):
            _stop(self._process)
            raise SandboxError(
                f"{HOST}:{LDAP_PORT} is already in use by another process; Samba needs the standard LDAP "
                "port: stop that server first"
            )
        log = self.log_file.open("ab")
        try:
            self._process.popen = subprocess.Popen(
                [
                    find_program("samba"),
                    "-F",
                    "-M",
                    "single",
                    "--debug-stdout",
                    "-d",
                    "1",
                    "-s",
                    str(self.config_file),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=_clean_env(),
            )
        finally:
            log.close()
        self._wait_until_up()

    def _take_port_lock(self) -> None:
        handle = LOCK_FILE.open("ab")
        deadline = time.monotonic() + 600
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    handle.close()
                    raise SandboxError(
                        f"another Samba sandbox has held {LOCK_FILE} for 10 minutes; stop it or remove "
                        "the lock file if no such process runs"
                    ) from None
                time.sleep(0.5)
        self._process.lock = handle

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            popen = self._process.popen
            if popen is None or popen.poll() is not None:
                code = popen.returncode if popen else "?"
                _stop(self._process)
                raise SandboxError(f"samba exited (code {code}) while starting: {self._log_tail()}")
            with contextlib.suppress(ldap.LDAPError):
                conn = self.connect()
                conn.unbind_s()
                return
            time.sleep(0.25)
        _stop(self._process)
        raise SandboxError(
            f"samba did not answer on {self.uri} within {self.start_timeout:.0f} s: {self._log_tail()}"
        )

    def _log_tail(self) -> str:
        try:
            return self.log_file.read_text(encoding="utf-8", errors="replace")[-2000:]
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """Stop the server by its PID and release the port lock; the domain stays for ``start``."""
        _stop(self._process)

    def close(self) -> None:
        self._finalizer()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- data ---------------------------------------------------------------------------------

    def connect(self, bind_dn: str | None = None, password: str | None = None) -> Any:
        """A python-ldap connection bound as Administrator (or the given account); the caller
        unbinds it. Referrals are not followed."""
        dn, secret = bind_dn or self.admin_dn, self.admin_password if password is None else password
        return bind(self.uri, dn, secret, referrals=False)

    def _admin(self) -> contextlib.AbstractContextManager[Any]:
        return bound(self.connect())

    def add(self, dn: str, attributes: Mapping[str, Values]) -> str:
        with self._admin() as conn:
            conn.add_s(dn, ldap.modlist.addModlist({k: ldap_values(v) for k, v in attributes.items()}))
        return dn

    def add_ou(self, name: str, parent: str | None = None) -> str:
        return self.add(f"OU={name},{parent or self.base_dn}", {"objectClass": "organizationalUnit"})

    def add_user(
        self,
        parent: str,
        name: str,
        *,
        mail: str | None = None,
        password: str | None = None,
        disabled: bool = False,
        **attributes: Values,
    ) -> str:
        """A user ``CN=<name>,<parent>`` (sAMAccountName ``name``), enabled unless ``disabled``;
        without a password it is created with PASSWD_NOTREQD."""
        flags = 0x200 | (0x2 if disabled else 0) | (0 if password else 0x20)
        values: dict[str, Values] = {
            "objectClass": "user",
            "sAMAccountName": name,
            "userPrincipalName": f"{name}@{self.realm.lower()}",
            "givenName": name.capitalize(),
            "sn": "Tester",
            "displayName": f"{name.capitalize()} Tester",
            **attributes,
        }
        if mail:
            values["mail"] = mail
        if password:
            values["unicodePwd"] = f'"{password}"'.encode("utf-16-le")
        values["userAccountControl"] = str(flags)
        return self.add(f"CN={name},{parent}", values)

    def add_group(self, parent: str, name: str, members: Sequence[str] = ()) -> str:
        values: dict[str, Values] = {"objectClass": "group", "sAMAccountName": name}
        if members:
            values["member"] = list(members)
        return self.add(f"CN={name},{parent}", values)

    def modify(self, dn: str, changes: Sequence[tuple[int, str, Values | None]]) -> None:
        """python-ldap modlist entries: ``(ldap.MOD_REPLACE, "title", "Lead")``."""
        modlist = [(op, name, None if v is None else ldap_values(v)) for op, name, v in changes]
        with self._admin() as conn:
            conn.modify_s(dn, modlist)

    def set_disabled(self, dn: str, disabled: bool) -> None:
        """Set or clear ACCOUNTDISABLE (bit 2) in the user's userAccountControl."""
        with self._admin() as conn:
            found = conn.search_s(dn, ldap.SCOPE_BASE, "(objectClass=*)", ["userAccountControl"])
            flags = int(found[0][1]["userAccountControl"][0])
            flags = flags | 0x2 if disabled else flags & ~0x2
            conn.modify_s(dn, [(ldap.MOD_REPLACE, "userAccountControl", [str(flags).encode()])])

    def move(self, dn: str, new_parent: str) -> str:
        rdn = dn.split(",", 1)[0]
        with self._admin() as conn:
            conn.rename_s(dn, rdn, new_parent)
        return f"{rdn},{new_parent}"

    def delete(self, dn: str) -> None:
        with self._admin() as conn:
            conn.delete_s(dn)

    def delete_tree(self, dn: str) -> None:
        """Delete ``dn`` and everything below it (the Tree Delete control)."""
        tree_delete = ldap.controls.LDAPControl("1.2.840.113556.1.4.805", True, None)
        with self._admin() as conn, contextlib.suppress(ldap.NO_SUCH_OBJECT):
            conn.delete_ext_s(dn, serverctrls=[tree_delete])

    def guid(self, dn: str) -> str:
        """The canonical objectGUID string of ``dn``."""
        with self._admin() as conn:
            found = conn.search_s(dn, ldap.SCOPE_BASE, "(objectClass=*)", ["objectGUID"])
        return guid_from_bytes(found[0][1]["objectGUID"][0])

    def root_dse(self, *attributes: str) -> dict[str, list[bytes]]:
        with self._admin() as conn:
            found = conn.search_s("", ldap.SCOPE_BASE, "(objectClass=*)", list(attributes) or ["*"])
        return dict(found[0][1])


def _clean_env() -> dict[str, str]:
    """The environment without a virtualenv's Python settings (samba-tool runs the system Python)."""
    drop = {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP"}
    return {k: v for k, v in os.environ.items() if k not in drop}


def _port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((host, port)) == 0
