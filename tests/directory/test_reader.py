"""Full reads in a reader process: the same users, errors and log events as a read in the engine
process, and no child left behind however the read ends."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from tests.directory.helpers import MAPPED, config_for
from webex_provisioner.config import DirectoryConfig
from webex_provisioner.directory import LdapDirectory
from webex_provisioner.directory import reader as reader_module
from webex_provisioner.directory.ldap import READ_PROCESS_FROM, usable_processors
from webex_provisioner.directory.reader import ReaderProcess, child_environment
from webex_provisioner.errors import DirectoryError, DirectoryIncompleteError
from webex_provisioner.sandbox import ThrowawaySlapd


def read(slapd: ThrowawaySlapd, *, process: bool, **overrides: object) -> list[object]:
    with LdapDirectory(config_for(slapd, **overrides), MAPPED, read_process=process) as directory:
        return list(directory.read_users())


def gone(reader: ReaderProcess) -> bool:
    return reader._process.poll() is not None


def test_a_reader_process_reads_exactly_what_the_engine_process_reads(shared_slapd: ThrowawaySlapd) -> None:
    """Every user, with the same attributes and labels (disabled, in scope and why, nested)."""
    here = read(shared_slapd, process=False)
    there = read(shared_slapd, process=True)
    assert len(here) > 20
    assert there == here


def test_without_targeted_groups_or_disabled_filter_the_labels_match_too(
    shared_slapd: ThrowawaySlapd,
) -> None:
    """The scope filter and 'everyone' labels come out of the reader process unchanged."""
    overrides = {"scope": {"filter": "(departmentNumber=Engineering)"}, "disabled_filter": None}
    assert read(shared_slapd, process=True, **overrides) == read(shared_slapd, process=False, **overrides)
    overrides = {"scope": {}, "disabled_filter": None}
    assert read(shared_slapd, process=True, **overrides) == read(shared_slapd, process=False, **overrides)


def test_an_error_in_the_reader_process_is_the_same_error_here(shared_slapd: ThrowawaySlapd) -> None:
    """A missing targeted group fails the read with the error class and message of a read here."""
    overrides = {"scope": {"groups": ["cn=nobody,ou=groups,dc=example,dc=com"]}}
    with pytest.raises(DirectoryError) as here:
        read(shared_slapd, process=False, **overrides)
    with pytest.raises(DirectoryError) as there:
        read(shared_slapd, process=True, **overrides)
    assert type(there.value) is type(here.value)
    assert there.value.message == here.value.message
    assert "does not exist" in there.value.message


def test_log_events_of_the_reader_process_reach_the_engine_log(shared_slapd: ThrowawaySlapd) -> None:
    """What the child logs (here the summary of the read) is logged by the engine, with its fields."""
    with capture_logs() as logs:
        users = read(shared_slapd, process=True)
    summary = [e for e in logs if e["event"] == "directory.read"]
    assert summary and summary[0]["users"] == len(users) and summary[0]["log_level"] == "info"
    usage = [e for e in logs if e["event"] == "directory.reader"]  # its own memory and CPU, last
    assert usage and usage[0]["peak_mb"] > 10 and usage[0]["cpu_seconds"] > 0
    assert logs.index(usage[0]) > logs.index(summary[0])


def test_a_reader_process_that_dies_makes_the_read_incomplete(shared_slapd: ThrowawaySlapd) -> None:
    """A child that dies (killed here before it could read) leaves an incomplete read, never a
    short, complete one."""
    with LdapDirectory(config_for(shared_slapd), MAPPED, read_process=True) as directory:
        directory.prepare_read(READ_PROCESS_FROM)
        prepared = directory._prepared
        assert prepared is not None
        os.kill(prepared._process.pid, signal.SIGKILL)
        prepared._process.wait()
        with pytest.raises(DirectoryIncompleteError) as raised:
            list(directory.read_users())
    assert "reader process ended (exit code -9) after 0 users" in raised.value.message
    assert "incomplete" in raised.value.message


def test_a_server_gone_during_the_read_is_an_error_here(own_slapd: ThrowawaySlapd) -> None:
    """slapd stopped before the reader process could read: the engine gets the directory error
    (unavailable), not an empty read."""
    with LdapDirectory(config_for(own_slapd), MAPPED, read_process=True) as directory:
        own_slapd.stop()
        with pytest.raises(DirectoryError) as raised:
            list(directory.read_users())
    assert own_slapd.uri in raised.value.message


def test_closing_a_read_early_stops_the_reader_process(shared_slapd: ThrowawaySlapd) -> None:
    """A read abandoned after one user (the cycle failed) does not leave the child running."""
    with LdapDirectory(config_for(shared_slapd), MAPPED, read_process=True) as directory:
        users = directory.read_users()
        assert isinstance(users, ReaderProcess)
        next(users)
        users.close()
        assert gone(users)


def test_a_prepared_reader_not_used_ends_with_the_directory(shared_slapd: ThrowawaySlapd) -> None:
    """``prepare_read`` starts the child at once; closing the directory without reading ends it."""
    directory = LdapDirectory(config_for(shared_slapd), MAPPED, read_process=True)
    directory.prepare_read(READ_PROCESS_FROM)
    prepared = directory._prepared
    assert prepared is not None and not gone(prepared)
    directory.close()
    deadline = time.monotonic() + 5
    while not gone(prepared) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gone(prepared)


def test_a_prepared_reader_is_the_one_that_reads(shared_slapd: ThrowawaySlapd) -> None:
    """The next ``read_users`` uses the child ``prepare_read`` started, and reads everyone."""
    with LdapDirectory(config_for(shared_slapd), MAPPED, read_process=True) as directory:
        directory.prepare_read(READ_PROCESS_FROM)
        prepared = directory._prepared
        users = directory.read_users()
        assert users is prepared
        assert len(list(users)) == len(read(shared_slapd, process=False))


def test_read_process_setting(shared_slapd: ThrowawaySlapd) -> None:
    """``false`` reads in the engine process, ``true`` in a reader process, ``auto`` in a reader
    process when ``prepare_read`` expects READ_PROCESS_FROM users or more (and two processors
    may be used), for that read only."""
    two = usable_processors() >= 2
    with LdapDirectory(config_for(shared_slapd, read_process=False), MAPPED) as directory:
        directory.prepare_read(READ_PROCESS_FROM * 10)
        assert not isinstance(directory.read_users(), ReaderProcess)
    with LdapDirectory(config_for(shared_slapd, read_process=True), MAPPED) as directory:
        assert isinstance(directory.read_users(), ReaderProcess)
    with LdapDirectory(config_for(shared_slapd), MAPPED) as directory:
        assert not directory.read_process
        directory.prepare_read(READ_PROCESS_FROM - 1)
        assert not directory.read_process
        directory.prepare_read(READ_PROCESS_FROM)
        assert directory.read_process is two
        users = directory.read_users()
        assert isinstance(users, ReaderProcess) is two
        assert len(list(users)) > 20
        assert not directory.read_process  # the next read is prepared again, or not


def test_a_reader_process_that_cannot_start(
    shared_slapd: ThrowawaySlapd, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ``auto``, a reader process that cannot be started (no interpreter to run, no process
    left) is a warning and the read happens here, complete; with ``true`` it is the error."""

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(reader_module.subprocess, "Popen", refuse)
    with capture_logs() as logs, LdapDirectory(config_for(shared_slapd), MAPPED) as directory:
        directory.prepare_read(READ_PROCESS_FROM)
        assert not directory.read_process
        users = list(directory.read_users())
    assert len(users) == len(read(shared_slapd, process=False))
    warning = [e for e in logs if e["event"] == "directory.reader_unavailable"]
    assert warning and "could not start the directory reader process" in warning[0]["error"]
    config = config_for(shared_slapd, read_process=True)
    with LdapDirectory(config, MAPPED) as directory, pytest.raises(DirectoryError) as raised:
        directory.read_users()
    assert "set directory.read_process: false" in raised.value.message


def test_the_reader_process_never_imports_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ``webex_provisioner`` and an ``ldap`` package planted in the folder the engine runs from
    would receive the bind password if the reader process imported them (``python -c`` puts the
    working directory first on the import path). They are never imported: the child runs the
    real code, which reports the unreachable directory."""
    marker = tmp_path / "planted-code-ran"
    for name in ("webex_provisioner", "ldap", "structlog"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text(f"open({str(marker)!r}, 'a').write({name!r})\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", os.pathsep)  # empty entries stand for the working directory too
    config = DirectoryConfig(
        url="ldap://127.0.0.1:1", base_dn="dc=x", bind_dn="cn=sync,dc=x", bind_password="s3cret-bind"
    )
    with ReaderProcess(config) as reader, pytest.raises(DirectoryError) as caught:
        reader.start(("mail",), None)
        list(reader)
    assert not marker.exists(), marker.read_text()
    assert "ldap://127.0.0.1:1" in caught.value.message and "check directory.url" in caught.value.message


def test_the_reader_process_gets_absolute_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The child runs in a directory of its own: a relative directory.ca_file and relative
    PYTHONPATH entries reach it as absolute paths, and empty PYTHONPATH entries not at all."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    config = DirectoryConfig(url="ldaps://127.0.0.1:1", base_dn="dc=x", ca_file=Path("ca.pem"))
    with ReaderProcess(config) as reader:
        assert reader._config.ca_file == tmp_path / "ca.pem"
    environment = child_environment({"PYTHONPATH": f"src{os.pathsep}{os.pathsep}/opt/lib", "HOME": "/h"})
    assert environment == {"PYTHONPATH": f"{tmp_path / 'src'}{os.pathsep}/opt/lib", "HOME": "/h"}
