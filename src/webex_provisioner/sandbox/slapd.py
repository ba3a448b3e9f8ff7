"""A real OpenLDAP slapd in a temporary directory, for tests, ``make demo`` and benchmarks.

``ThrowawaySlapd`` writes a ``slapd.conf`` (mdb, suffix ``dc=example,dc=com``, the core, cosine,
nis and inetOrgPerson schemas, syncprov and ppolicy overlays), optionally bulk-loads LDIF with
``slapadd -q`` before the start, and runs ``slapd -d 0`` in the foreground on a free port of
127.0.0.1 (never any other address). It is cheap enough (about 0.3 s) to start one per test::

    with ThrowawaySlapd() as slapd:
        slapd.load_ldif(company_ldif())
        slapd.start()
        slapd.modify("uid=ada,ou=people,dc=example,dc=com", {"title": "CTO"})

Disabled users: with ``ppolicy=True`` (the default) the ppolicy overlay is loaded, which brings
the ``pwdAccountLockedTime`` operational attribute; the root DN can set and remove it (over LDAP
and in LDIF loaded with ``slapadd``), and ``(pwdAccountLockedTime=*)`` finds locked accounts.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import tempfile
import time
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

import ldap
import ldap.dn
import ldap.modlist
import ldif  # type: ignore[import-untyped, unused-ignore]  # python-ldap's LDIF parser, untyped

from webex_provisioner.sandbox.ldiftext import SUFFIX
from webex_provisioner.sandbox.processes import HOST, bind, bound, free_port, ldap_values, terminate
from webex_provisioner.sandbox.slapdconf import SandboxError, SlapdSettings, find_program, render

__all__ = ["HOST", "SUFFIX", "SandboxError", "ThrowawaySlapd"]


Value = str | bytes
Values = Value | Sequence[Value]
Operation = Literal["add", "replace", "delete"] | int  # or ldap.MOD_ADD / MOD_REPLACE / MOD_DELETE
Changes = Mapping[str, Values | None] | Sequence[tuple[Operation, str, Values | None]]

_OPERATIONS = {"add": ldap.MOD_ADD, "replace": ldap.MOD_REPLACE, "delete": ldap.MOD_DELETE}


@dataclass
class _Process:
    """The running slapd, shared with the finalizer (which must not reference the instance)."""

    popen: subprocess.Popen[bytes] | None = None
    workdir: Path | None = None
    remove_workdir: bool = False


def _finalize(process: _Process) -> None:
    if process.popen is not None:
        terminate(process.popen)
        process.popen = None
    if process.remove_workdir and process.workdir is not None:
        shutil.rmtree(process.workdir, ignore_errors=True)


def _as_bytes_list(values: Values | None) -> list[bytes] | None:
    return None if values is None else ldap_values(values)


class ThrowawaySlapd:
    """A slapd of its own in a temporary directory, listening on 127.0.0.1 only.

    Load data with ``load_ldif`` (``slapadd -q``; before ``start``, or between ``stop`` and
    ``start``), then ``start()``. While it runs, ``add``/``modify``/``delete``/``rename`` change
    entries as the root DN. ``restart()`` keeps the data and the port. ``close()`` (or leaving the
    ``with`` block) stops the server by PID and removes the directory; a forgotten instance is
    cleaned up when garbage-collected or at interpreter exit.
    """

    def __init__(
        self,
        *,
        suffix: str = SUFFIX,
        syncprov: bool = True,
        sessionlog: int | None = 10000,
        tls: bool = False,
        ppolicy: bool = True,
        sizelimit: int | None = None,
        root_pw: str | None = None,
        workdir: str | os.PathLike[str] | None = None,
        slapd: str | None = None,
        start_timeout: float = 10.0,
    ) -> None:
        self.suffix = suffix
        self.root_dn = f"cn=admin,{suffix}"
        self.root_pw = root_pw or secrets.token_urlsafe(16)
        self.syncprov = syncprov
        self.sessionlog = sessionlog
        self.tls = tls
        self.ppolicy = ppolicy
        self.sizelimit = sizelimit
        self.start_timeout = start_timeout
        self._slapd = find_program("slapd", slapd)
        self._process = _Process()
        if workdir is None:
            self._process.workdir = Path(tempfile.mkdtemp(prefix="throwaway-slapd-"))
            self._process.remove_workdir = True
        else:
            self._process.workdir = Path(workdir)
            self._process.workdir.mkdir(parents=True, exist_ok=True)
        self.workdir: Path = self._process.workdir
        self.port = free_port()
        self.ldaps_port = free_port() if tls else None
        self.ca_file: Path | None = None
        self._started_once = False
        self._configured = False
        self._finalizer = weakref.finalize(self, _finalize, self._process)

    # -- addresses ----------------------------------------------------------------------------

    @property
    def uri(self) -> str:
        """``ldap://127.0.0.1:PORT`` (StartTLS-capable when ``tls``)."""
        return f"ldap://{HOST}:{self.port}"

    @property
    def ldaps_uri(self) -> str:
        """``ldaps://127.0.0.1:PORT``; only with ``tls=True``."""
        if self.ldaps_port is None:
            raise SandboxError("this slapd has no ldaps:// listener; create it with ThrowawaySlapd(tls=True)")
        return f"ldaps://{HOST}:{self.ldaps_port}"

    @property
    def config_file(self) -> Path:
        return self.workdir / "slapd.conf"

    @property
    def log_file(self) -> Path:
        return self.workdir / "slapd.log"

    @property
    def pid(self) -> int | None:
        popen = self._process.popen
        return popen.pid if popen is not None and popen.poll() is None else None

    @property
    def running(self) -> bool:
        return self.pid is not None

    # -- configuration ------------------------------------------------------------------------

    def _configure(self) -> None:
        if self._configured:
            return
        (self.workdir / "db").mkdir(exist_ok=True)
        tls_files = None
        if self.tls:
            from webex_provisioner.sandbox.pki import make_test_pki  # noqa: PLC0415 - needs cryptography

            pki = make_test_pki(self.workdir / "tls")
            self.ca_file = pki.ca_file
            tls_files = (pki.ca_file, pki.cert_file, pki.key_file)
        settings = SlapdSettings(
            workdir=self.workdir,
            suffix=self.suffix,
            root_dn=self.root_dn,
            root_pw=self.root_pw,
            syncprov=self.syncprov,
            sessionlog=self.sessionlog,
            ppolicy=self.ppolicy,
            sizelimit=self.sizelimit,
            tls_files=tls_files,
        )
        self.config_file.write_text(render(settings), encoding="utf-8")
        self.config_file.chmod(0o600)
        self._configured = True

    # -- data ---------------------------------------------------------------------------------

    def load_ldif(self, source: str | os.PathLike[str] | Iterable[str]) -> None:
        """Bulk-load entries with ``slapadd -q`` (100k users in about a second).

        ``source`` is LDIF text, a path to an LDIF file, or an iterable of LDIF chunks (streamed to
        a file first). Only while the server is stopped: before ``start()`` or after ``stop()``.
        """
        if self.running:
            raise SandboxError(
                "load_ldif uses slapadd, which needs slapd stopped; call stop() first or use add()"
            )
        self._configure()
        if isinstance(source, os.PathLike):
            path = Path(source)
        else:
            path = self.workdir / f"load-{time.monotonic_ns()}.ldif"
            with path.open("w", encoding="utf-8") as out:
                if isinstance(source, str):
                    out.write(source)
                else:
                    for chunk in source:
                        out.write(chunk)
        slapadd = find_program(
            "slapadd", str(Path(self._slapd).with_name("slapadd")) if "/" in self._slapd else None
        )
        result = subprocess.run(
            [slapadd, "-q", "-f", str(self.config_file), "-l", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            output = (result.stderr + result.stdout).strip()[-2000:]
            raise SandboxError(f"slapadd -q -l {path} failed (exit {result.returncode}): {output}")

    def connect(self, *, bind_dn: str | None = None, password: str | None = None) -> Any:
        """A python-ldap connection bound as the root DN (or the given DN); the caller unbinds it."""
        return bind(self.uri, bind_dn or self.root_dn, self.root_pw if password is None else password)

    def _admin(self) -> contextlib.AbstractContextManager[Any]:
        return bound(self.connect())

    def add(self, ldif_text: str) -> list[str]:
        """Add the entries of ``ldif_text`` over LDAP as the root DN; returns their DNs.

        Operational attributes such as ``entryUUID`` cannot be added this way (slapd refuses
        them); load such LDIF with ``load_ldif`` before the start.
        """
        parser = ldif.LDIFRecordList(StringIO(ldif_text))
        parser.parse()
        with self._admin() as conn:
            for dn, entry in parser.all_records:
                conn.add_s(dn, ldap.modlist.addModlist(entry))
        return [dn for dn, _ in parser.all_records]

    def modify(self, dn: str, changes: Changes) -> None:
        """Change an entry as the root DN.

        ``changes`` is either a mapping ``{attribute: values}`` (replace; ``None`` or ``[]``
        removes the attribute) or a sequence of ``(operation, attribute, values)`` with operation
        ``"add"``, ``"replace"`` or ``"delete"`` (or python-ldap's ``ldap.MOD_*``; ``None`` values
        with delete remove the whole attribute).
        """
        if isinstance(changes, Mapping):
            items: list[tuple[Operation, str, Values | None]] = [
                ("replace", name, values) for name, values in changes.items()
            ]
        else:
            items = list(changes)
        modlist = [
            (_OPERATIONS[op] if isinstance(op, str) else op, name, _as_bytes_list(values))
            for op, name, values in items
        ]
        with self._admin() as conn:
            conn.modify_s(dn, modlist)

    def delete(self, dn: str) -> None:
        """Delete one (leaf) entry as the root DN."""
        with self._admin() as conn:
            conn.delete_s(dn)

    def rename(
        self, dn: str, new_rdn: str, new_superior: str | None = None, *, delete_old_rdn: bool = True
    ) -> str:
        """Rename (modrdn) an entry, optionally moving it under ``new_superior``; returns the new DN."""
        with self._admin() as conn:
            conn.rename_s(dn, new_rdn, new_superior, int(delete_old_rdn))
        parent = new_superior if new_superior is not None else ldap.dn.dn2str(ldap.dn.str2dn(dn)[1:])
        return f"{new_rdn},{parent}"

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> Self:
        """Start slapd and wait (up to ``start_timeout``) until it answers a root DSE search."""
        if self.running:
            return self
        self._configure()
        attempts = 1 if self._started_once else 3  # a fresh port may be taken in the meantime
        for attempt in range(attempts):
            popen = self._spawn()
            self._process.popen = popen
            try:
                self._wait_until_ready(popen)
            except SandboxError:
                terminate(popen)
                self._process.popen = None
                if attempt + 1 < attempts and "already in use" in self.log_tail():
                    self.port = free_port()
                    self.ldaps_port = free_port() if self.tls else None
                    continue
                raise
            self._started_once = True
            return self
        raise AssertionError("unreachable")  # pragma: no cover

    def _spawn(self) -> subprocess.Popen[bytes]:
        urls = f"ldap://{HOST}:{self.port}/"
        if self.ldaps_port is not None:
            urls += f" ldaps://{HOST}:{self.ldaps_port}/"
        with self.log_file.open("ab") as log:
            return subprocess.Popen(
                [self._slapd, "-h", urls, "-f", str(self.config_file), "-d", "0"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def _wait_until_ready(self, popen: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + self.start_timeout
        last_error = "no answer yet"
        while time.monotonic() < deadline:
            if popen.poll() is not None:
                raise SandboxError(
                    f"slapd exited with status {popen.returncode} while starting on {self.uri}; "
                    f"log {self.log_file}:\n{self.log_tail()}"
                )
            try:
                conn = ldap.initialize(self.uri)
                conn.set_option(ldap.OPT_NETWORK_TIMEOUT, 0.5)
                conn.set_option(ldap.OPT_TIMEOUT, 1.0)
                conn.search_s("", ldap.SCOPE_BASE, "(objectClass=*)", ["1.1"])
                conn.unbind_s()
                return
            except ldap.LDAPError as exc:
                last_error = repr(exc)
                time.sleep(0.05)
        raise SandboxError(
            f"slapd did not answer on {self.uri} within {self.start_timeout:.0f} s ({last_error}); "
            f"log {self.log_file}:\n{self.log_tail()}"
        )

    def stop(self) -> None:
        """Stop slapd by its PID (SIGTERM, then SIGKILL after 10 s) and wait until it is gone."""
        popen = self._process.popen
        if popen is not None:
            terminate(popen)
            self._process.popen = None

    def kill(self) -> None:
        """Kill slapd with SIGKILL (a crash); mdb keeps the committed data for a later ``start``."""
        popen = self._process.popen
        if popen is not None:
            if popen.poll() is None:
                popen.kill()
            popen.wait()
            self._process.popen = None

    def restart(self) -> Self:
        """Stop and start again: same data, same port(s)."""
        self.stop()
        return self.start()

    def close(self) -> None:
        """Stop slapd and remove the temporary directory (unless ``workdir`` was given)."""
        self._finalizer()

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = f"pid {self.pid}" if self.running else "stopped"
        return f"ThrowawaySlapd({self.uri}, {state}, {self.workdir})"
