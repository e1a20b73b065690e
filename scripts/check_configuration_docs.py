"""Fail when the configuration reference and the code disagree about environment variables."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
READ_PATTERN = re.compile(
    r"""(?:env|env_bool|env_list|os\.environ\.get|os\.environ\.setdefault|getenv)\(\s*["']([A-Z][A-Z0-9_]+)["']"""
)
DOC_PATTERN = re.compile(r"^\|\s*`([A-Z][A-Z0-9_]+)`", re.MULTILINE)
IGNORED = {"DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}


def variables_in_code() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "src" / "regard").rglob("*.py"):
        found.update(READ_PATTERN.findall(path.read_text(encoding="utf-8")))
    return found - IGNORED


def variables_in_docs() -> set[str]:
    return set(DOC_PATTERN.findall((ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")))


def main() -> int:
    code, docs = variables_in_code(), variables_in_docs()
    problems = [f"{name} is read by the code but missing from docs/configuration.md" for name in sorted(code - docs)]
    problems += [f"{name} is documented but no code reads it" for name in sorted(docs - code)]
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
