"""Audit the installed dependencies for known vulnerabilities (pip-audit), when it can be done.

pip-audit asks PyPI's JSON API about each installed version. Offline, or behind a mirror
that does not serve that API, every package comes back "not found" and pip-audit would
report "No known vulnerabilities found": a pass that audited nothing. So the service is
probed first, with a short timeout, for the exact address pip-audit uses; when it does
not answer, one line says the audit was skipped and why. When it does, any vulnerability,
and any dependency that could not be audited (``--strict``), fails.
"""

from __future__ import annotations

import subprocess
import sys
import urllib.error
import urllib.request
from importlib.metadata import version

PROBE_TIMEOUT_SECONDS = 5


def service_problem() -> str | None:
    """Why PyPI's vulnerability data cannot be read from here, or None when it can."""
    url = f"https://pypi.org/pypi/pip/{version('pip')}/json"
    try:
        with urllib.request.urlopen(url, timeout=PROBE_TIMEOUT_SECONDS) as answer:  # nosec B310 # a fixed https address
            if b'"vulnerabilities"' not in answer.read():
                return f"{url} answers without vulnerability data"
    except urllib.error.HTTPError as error:
        return f"{url} answered {error.code}"
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        return f"{url} is not reachable ({reason})"
    return None


def main() -> int:
    problem = service_problem()
    if problem:
        print(f"pip-audit: SKIPPED, the vulnerability service cannot be used: {problem}")
        return 0
    command = [sys.executable, "-m", "pip_audit", "--strict", "--skip-editable", "--progress-spinner", "off"]
    return subprocess.run(command, check=False).returncode  # nosec B603 # a fixed command line


if __name__ == "__main__":
    sys.exit(main())
