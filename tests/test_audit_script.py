"""scripts/audit.py, the dependency audit of CI: an advisory fails it; an audit that could not be
made (service unreachable, or answering without advisory data) says NOT AUDITED and passes,
never "no known advisories". pip-audit's answers are scripted here."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).parent.parent / "scripts" / "audit.py"
LOCK = Path("requirements.lock")


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("audit_script", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def vulnerable(name: str, version: str, advisory: str) -> dict[str, Any]:
    return {"name": name, "version": version, "vulns": [{"id": advisory, "fix_versions": ["9.9"]}]}


CANARY_REPORTED = {"dependencies": [vulnerable("jinja2", "3.1.4", "GHSA-cpwx-vrp4-4pq7")]}


def run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *answers: tuple[Any, str]
) -> tuple[int, str, list[str]]:
    """Run the audit with pip-audit answering ``answers`` in turn (canary first, then the lock)."""
    module = load()
    asked: list[str] = []
    queue = list(answers)

    def scripted(requirements: Path) -> tuple[Any, str]:
        asked.append(requirements.name)
        return queue.pop(0)

    monkeypatch.setattr(module, "pip_audit", scripted)
    code = module.main(LOCK)
    return code, capsys.readouterr().out, asked


def test_an_advisory_in_the_lock_fails_the_audit(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An advisory found in the lock: exit 1, naming the package, version, advisory and fix."""
    lock = {
        "dependencies": [vulnerable("starlette", "1.0.0", "CVE-2026-48710"), {"name": "httpx", "vulns": []}]
    }
    code, out, asked = run(monkeypatch, capsys, (CANARY_REPORTED, ""), (lock, ""))
    assert code == 1 and asked == ["canary.txt", "requirements.lock"]
    assert "starlette 1.0.0: CVE-2026-48710 (fixed in 9.9)" in out and "NOT AUDITED" not in out


def test_a_clean_lock_passes_and_says_how_many_were_audited(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No advisory in the lock (and the canary reported): exit 0, the count audited."""
    lock = {"dependencies": [{"name": "httpx", "vulns": []}, {"name": "click", "vulns": []}]}
    code, out, _ = run(monkeypatch, capsys, (CANARY_REPORTED, ""), (lock, ""))
    assert code == 0 and "audited 2 packages of requirements.lock: no known advisories" in out


@pytest.mark.parametrize(
    ("canary", "why"),
    [
        ((None, "ConnectionError: Failed to resolve 'api.osv.dev'"), "could not be queried"),
        (
            ({"dependencies": [{"name": "jinja2", "skip_reason": "Dependency not found"}]}, ""),
            "does not know",
        ),
        (
            ({"dependencies": [{"name": "jinja2", "version": "3.1.4", "vulns": []}]}, ""),
            "without advisory data",
        ),
    ],
    ids=["unreachable", "unknown-to-the-service", "mirror-without-advisories"],
)
def test_an_audit_that_cannot_be_made_says_not_audited_and_passes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], canary: tuple[Any, str], why: str
) -> None:
    """A service that cannot be reached, does not know the canary, or reports nothing for it (a
    mirror without advisory data) gives a loud NOT AUDITED line, exit 0, and the lock is not
    audited (its 'no vulnerabilities' would mean nothing)."""
    code, out, asked = run(monkeypatch, capsys, canary)
    assert code == 0 and asked == ["canary.txt"]
    assert out.startswith("NOT AUDITED: ") and why in out and "no known advisories" not in out


def test_packages_that_could_not_be_audited_are_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Packages of the lock the service skipped are each named on a NOT AUDITED line."""
    lock = {"dependencies": [{"name": "httpx", "vulns": []}, {"name": "odd", "skip_reason": "not on PyPI"}]}
    code, out, _ = run(monkeypatch, capsys, (CANARY_REPORTED, ""), (lock, ""))
    assert code == 0 and "NOT AUDITED: odd: not on PyPI" in out and "audited 1 packages" in out
