"""The reference pages say what the code does."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from regard.privacy.roles import permission_matrix_markdown

ROOT = Path(__file__).resolve().parents[2]


def _configuration_checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "check_configuration_docs", ROOT / "scripts" / "check_configuration_docs.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_environment_variable_the_code_reads_is_documented_and_nothing_else() -> None:
    checker = _configuration_checker()
    in_code, in_docs = checker.variables_in_code(), checker.variables_in_docs()
    assert {"REGARD_ENV", "REGARD_SECRET_KEY", "DATABASE_URL"} <= in_code
    assert in_code - in_docs == set(), "read by the code but missing from docs/configuration.md"
    assert in_docs - in_code == set(), "documented in docs/configuration.md but read by no code"


def test_the_configuration_checker_notices_an_undocumented_variable(tmp_path: Path, monkeypatch) -> None:
    checker = _configuration_checker()
    (tmp_path / "src" / "regard").mkdir(parents=True)
    (tmp_path / "src" / "regard" / "settings.py").write_text('X = env("REGARD_NEW_KNOB", "1")\n')
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "configuration.md").write_text("| `REGARD_OLD_KNOB` | | |\n")
    monkeypatch.setattr(checker, "ROOT", tmp_path)
    assert checker.main() == 1


def test_the_permissions_page_is_the_permission_matrix() -> None:
    page = (ROOT / "docs" / "permissions.md").read_text(encoding="utf-8")
    table_starts = page.index("\n|") + 1
    assert page[:table_starts].startswith("# Roles and permissions")
    assert page[table_starts:] == permission_matrix_markdown()
