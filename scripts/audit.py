"""Audit the locked dependency set (requirements.lock) for known advisories with pip-audit.

Exit 1 when an advisory is found. When no audit could be made (the advisory service is
unreachable, or answers without advisory data, as a package mirror does), print a loud
``NOT AUDITED: <why>`` line and exit 0: the check did not run, which is not a pass.

Before the lock, a canary is audited: a pin with advisories everybody knows (Jinja2 3.1.4, three
sandbox escapes). A service that does not report them is not giving advisory data, and its
"no known vulnerabilities" for the lock would mean nothing.

    python scripts/audit.py [requirements.lock]     # AUDIT_SERVICE=osv to ask OSV instead of PyPI
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

CANARY = "jinja2==3.1.4"


def pip_audit(requirements: Path) -> tuple[dict[str, Any] | None, str]:
    """pip-audit's JSON report on ``requirements`` (``None`` when it made none) and why not."""
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.json"
        command = [sys.executable, "-m", "pip_audit", "-r", str(requirements), "--no-deps", "--disable-pip"]
        command += ["--vulnerability-service", os.environ.get("AUDIT_SERVICE", "pypi")]
        command += ["--progress-spinner", "off", "-f", "json", "-o", str(report)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        why = lines[-1].strip() if lines else f"pip-audit exited with {done.returncode}"
        try:
            return json.loads(report.read_text()), why
        except (OSError, ValueError):
            return None, why


def findings(report: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(one line per advisory found, one line per package that could not be audited)."""
    found, skipped = [], []
    for dependency in report.get("dependencies", []):
        name, version = dependency.get("name"), dependency.get("version", "?")
        if dependency.get("skip_reason"):
            skipped.append(f"{name}: {dependency['skip_reason']}")
        for vuln in dependency.get("vulns", []):
            fixed = ", ".join(vuln.get("fix_versions", [])) or "no fixed version"
            found.append(f"{name} {version}: {vuln.get('id')} (fixed in {fixed})")
    return found, skipped


def canary_problem() -> str | None:
    """Why the advisory service cannot be trusted here, or ``None`` when it reports the canary."""
    with tempfile.TemporaryDirectory() as folder:
        canary = Path(folder) / "canary.txt"
        canary.write_text(CANARY + "\n")
        report, why = pip_audit(canary)
    if report is None:
        return f"the advisory service could not be queried ({why})"
    found, skipped = findings(report)
    if skipped:
        return f"the advisory service does not know the canary {CANARY} ({skipped[0]})"
    if not found:
        return (
            f"the advisory service reports nothing for the canary {CANARY}: it answers without advisory data"
        )
    return None


def main(lock: Path) -> int:
    problem = canary_problem()
    if problem is not None:
        print(f"NOT AUDITED: {problem}; {lock} was not checked for known advisories", flush=True)
        return 0
    report, why = pip_audit(lock)
    if report is None:
        print(f"NOT AUDITED: pip-audit made no report on {lock} ({why})", flush=True)
        return 0
    found, skipped = findings(report)
    for line in skipped:
        print(f"NOT AUDITED: {line}", flush=True)
    if found:
        print(f"{len(found)} known advisory(ies) in {lock}; raise these minimums and run 'make lock':")
        print("\n".join(f"  {line}" for line in found))
        return 1
    audited = len(report.get("dependencies", [])) - len(skipped)
    print(f"audited {audited} packages of {lock}: no known advisories")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "requirements.lock")))
