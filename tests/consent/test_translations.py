"""The pages a customer meets without logging in speak the customer's language (C2, S2, S7).

Every string of those pages and of the ``{{ greeting }}`` fallbacks must have a translation in
each catalogue for the languages the demo uses; a string added without one fails here.
"""

from __future__ import annotations

import ast
import gettext
import shutil
import subprocess
from pathlib import Path

import pytest
from django.template import engines
from django.templatetags.i18n import BlockTranslateNode, TranslateNode
from django.test import Client
from django.utils import translation

import regard
from regard.consent.tokens import link_token
from regard.customers.demo import LOCALES
from regard.customers.models import Customer
from tests.customers.factories import make_customer, unique

SRC = Path(regard.__file__).resolve().parent
CATALOGUE_APPS = ("consent", "customers")
PAGES = sorted(
    p.relative_to(SRC / "consent/templates").as_posix() for p in (SRC / "consent/templates").rglob("*.html")
)
PYTHON_SOURCES = (SRC / "consent/views.py", SRC / "customers/models.py")
GETTEXT_NAMES = {"_", "gettext", "gettext_lazy", "pgettext", "pgettext_lazy"}


def _locale(language: str) -> str:
    return translation.to_locale(language)


# English is the source language; every other language of the demo needs a catalogue.
LANGUAGES = sorted({_locale(loc.language) for loc in LOCALES if not loc.language.startswith("en")})


def template_msgids() -> set[str]:
    found: set[str] = set()
    for name in PAGES:
        template = engines["django"].engine.get_template(name)
        for node in template.nodelist.get_nodes_by_type(TranslateNode):
            found.add(node.filter_expression.var.literal)
        for node in template.nodelist.get_nodes_by_type(BlockTranslateNode):
            found.add(node.render_token_list(node.singular)[0])
    return found


def python_msgids() -> set[str]:
    found: set[str] = set()
    for path in PYTHON_SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in GETTEXT_NAMES
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found.add(node.args[0].value)
    return found


def catalogue(locale: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    for app in CATALOGUE_APPS:
        directory = SRC / app / "locale"
        if (directory / locale / "LC_MESSAGES" / "django.mo").exists():
            found = gettext.translation("django", localedir=directory, languages=[locale])
            merged.update(found._catalog)  # type: ignore[attr-defined]
    return merged


def test_the_demo_languages_are_all_covered() -> None:
    assert len(LANGUAGES) >= 9
    assert {"de", "fr", "ja", "pt_BR"} <= set(LANGUAGES)


def test_the_strings_are_found() -> None:
    """The extraction itself works: a broken walker would make the next test pass vacuously."""
    assert "Unsubscribe" in template_msgids()
    assert "%(greeting)s, your choices" in template_msgids()
    assert {"Hello", "Hi %(name)s", "newsletter"} <= python_msgids()


@pytest.mark.parametrize("locale", LANGUAGES)
def test_every_string_has_a_translation_in_each_catalogue(locale: str) -> None:
    translated = catalogue(locale)
    missing = sorted(m for m in template_msgids() | python_msgids() if not translated.get(m))
    assert missing == [], f"{locale}: no translation for {missing}"


@pytest.mark.parametrize("app", CATALOGUE_APPS)
@pytest.mark.parametrize("locale", LANGUAGES)
def test_the_compiled_catalogue_matches_its_source(tmp_path: Path, app: str, locale: str) -> None:
    """A .po edited without running msgfmt would ship stale translations."""
    msgfmt = shutil.which("msgfmt")
    assert msgfmt is not None, "msgfmt is needed (apt-get install gettext)"
    messages = SRC / app / "locale" / locale / "LC_MESSAGES"
    subprocess.run([msgfmt, "-o", str(tmp_path / "django.mo"), str(messages / "django.po")], check=True)
    assert (tmp_path / "django.mo").read_bytes() == (messages / "django.mo").read_bytes()


def _person(language: str, **profile: str) -> Customer:
    return make_customer(language=language, identifiers=[("email", f"p{unique()}@example.org")], **profile)


def _token(customer: Customer) -> str:
    return link_token(customer_id=customer.pk, purpose="newsletter", channel="email", message_id="<m@x>")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("de", ["Abmelden", "Newsletter", "E-Mail", "Bis dahin ändert sich nichts.", 'lang="de"']),
        ("fr", ["Se désinscrire", "newsletter par e-mail", "Rien ne change", 'lang="fr"']),
    ],
)
def test_the_unsubscribe_page_is_in_the_customers_language(language: str, expected: list[str]) -> None:
    page = Client().get(f"/u/{_token(_person(language))}").content.decode()
    for text in expected:
        assert text in page
    assert "Nothing changes until you do" not in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "profile", "expected"),
    [
        (
            "de",
            {"preferred_name": "Anna", "formality": "informal"},
            ["Hallo Anna, Ihre Einstellungen", "Meine Einstellungen speichern"],
        ),
        (
            "de",
            {"formality": "formal", "salutation": "Frau", "family_name": "Weber", "preferred_name": ""},
            ["Guten Tag Frau Weber, Ihre Einstellungen"],
        ),
        (
            "fr",
            {"formality": "neutral"},
            ["Bonjour, vos choix", "Enregistrer mes choix", "Arrêter tous les messages marketing"],
        ),
    ],
)
def test_the_preference_page_and_greeting_are_in_the_customers_language(
    language: str, profile: dict[str, str], expected: list[str]
) -> None:
    page = Client().get(f"/p/{_token(_person(language, **profile))}").content.decode()
    for text in expected:
        assert text in page
    assert "Save my choices" not in page


@pytest.mark.django_db
def test_the_unsubscribed_page_after_the_button_is_translated() -> None:
    page = Client().post(f"/u/{_token(_person('de'))}", {"confirm": "1"}).content.decode()
    assert "Sie sind abgemeldet" in page


@pytest.mark.django_db
def test_a_message_greets_in_the_customers_language_whatever_language_is_active() -> None:
    from regard.outreach.render import customer_context

    customer = _person("ja", formality="formal", salutation="様", family_name="田中", preferred_name="")
    with translation.override("en"):
        assert customer_context(customer)["greeting"] == "田中様"
    english = _person("en-GB", formality="neutral")
    with translation.override("de"):
        assert customer_context(english)["greeting"] == "Hello"
