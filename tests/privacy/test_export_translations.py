"""The export's summary, link mail and link page speak the customer's language (German at least)."""

from __future__ import annotations

import ast
import gettext
import shutil
import subprocess
from pathlib import Path

import pytest
from django.template import engines
from django.templatetags.i18n import BlockTranslateNode, TranslateNode

import regard

SRC = Path(regard.__file__).resolve().parent
LOCALE = SRC / "privacy" / "locale"
TEMPLATES = ("privacy/export_summary.html", "privacy/export_link_invalid.html")
LANGUAGES = ("de",)


def msgids() -> set[str]:
    found: set[str] = set()
    for name in TEMPLATES:
        template = engines["django"].engine.get_template(name)
        for node in template.nodelist.get_nodes_by_type(TranslateNode):
            found.add(node.filter_expression.var.literal)
        for node in template.nodelist.get_nodes_by_type(BlockTranslateNode):
            found.add(node.render_token_list(node.singular)[0])
    tree = ast.parse((SRC / "privacy" / "export.py").read_text())
    for call in ast.walk(tree):
        if (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Name)
            and call.func.id == "gettext"
            and call.args
            and isinstance(call.args[0], ast.Constant)
        ):
            found.add(call.args[0].value)
    return found


def test_the_strings_are_found() -> None:
    found = msgids()
    assert {
        "Your data",
        "What the archive holds",
        "Support conversations",
        "Your data, as you asked",
    } <= found
    assert "%(counter)s message" in found


@pytest.mark.parametrize("locale", LANGUAGES)
def test_every_string_has_a_translation(locale: str) -> None:
    catalogue = gettext.translation("django", localedir=LOCALE, languages=[locale])._catalog  # type: ignore[attr-defined]
    translated = {key[0] if isinstance(key, tuple) else key for key, value in catalogue.items() if value}
    assert sorted(msgids() - translated) == []


@pytest.mark.parametrize("locale", LANGUAGES)
def test_the_compiled_catalogue_matches_its_source(tmp_path: Path, locale: str) -> None:
    msgfmt = shutil.which("msgfmt")
    assert msgfmt is not None, "msgfmt is needed (apt-get install gettext)"
    messages = LOCALE / locale / "LC_MESSAGES"
    subprocess.run([msgfmt, "-o", str(tmp_path / "django.mo"), str(messages / "django.po")], check=True)
    assert (tmp_path / "django.mo").read_bytes() == (messages / "django.mo").read_bytes()
