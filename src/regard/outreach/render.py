"""Templates with a restricted context: what we really know, or nothing (C3, S7).

``{{ greeting }}`` is how the person asked to be addressed (Customer.greeting): never
a guessed first name, never "Hi Generic User". A template that asks for data the
person's record lacks refuses to render, and the message is held with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.template import Context, Engine, Template, TemplateSyntaxError, base, defaulttags
from django.utils import translation

from regard.customers.models import Customer
from regard.errors import InvalidInput

_MISSING = "\x00missing:%s\x00"
# No loaders: {% include %} and {% extends %} cannot reach files; plain text, no escaping.
_ENGINE = Engine(loaders=[], string_if_invalid=_MISSING, autoescape=False, libraries={})


class MissingData(Exception):
    def __init__(self, names: list[str]) -> None:
        super().__init__(f"template needs data this customer's record lacks: {', '.join(names)}")
        self.names = names


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


# What a message template may use: text, variables with filters, if / for / with / firstof
# and comments. {% debug %} prints the context and the loaded modules, {% now %}, {% url %},
# {% csrf_token %} and the rest expose internals or mean nothing in a mail.
_ALLOWED_NODES = (
    defaulttags.CommentNode,
    defaulttags.FirstOfNode,
    defaulttags.ForNode,
    defaulttags.IfNode,
    defaulttags.WithNode,
    base.TextNode,
    base.VariableNode,
)


@lru_cache(maxsize=256)
def compile_template(text: str, *, field: str = "body") -> Template:
    try:
        template = _ENGINE.from_string(text)
    except TemplateSyntaxError as error:
        raise InvalidInput(f"{field}: template error: {error}", field=field) from None
    for node in template.nodelist.get_nodes_by_type(base.Node):
        if not isinstance(node, _ALLOWED_NODES):
            tag = (node.token.contents.split() or ["?"])[0] if node.token else type(node).__name__
            raise InvalidInput(
                f"{field}: the tag {{% {tag} %}} is not allowed in a message template"
                " (use variables, if, for, with, firstof).",
                field=field,
            )
    return template


def validate_template(text: str, *, field: str) -> None:
    compile_template(text, field=field)


def customer_context(customer: Customer, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Only what the template may use. Blank facts are left out, so using them holds the message."""
    with translation.override(customer.language or "en"):
        context: dict[str, Any] = {"greeting": customer.greeting}
    if customer.preferred_name:
        context["preferred_name"] = customer.preferred_name
    context.update(extra or {})
    return context


def _render_one(text: str, context: Mapping[str, Any], field: str) -> str:
    # Mail bodies are plain text: "O'Brien & Co" stays as typed (a Context escapes by default).
    output = compile_template(text, field=field).render(Context(dict(context), autoescape=False))
    if "\x00missing:" in output:
        names = sorted({part.split("\x00")[0] for part in output.split("\x00missing:")[1:]})
        raise MissingData(names)
    return output


def render(
    *,
    subject: str,
    body: str,
    variants: Mapping[str, Mapping[str, str]],
    language: str,
    context: Mapping[str, Any],
) -> Rendered:
    chosen = variants.get(language) or variants.get(language.split("-")[0]) or {}
    return Rendered(
        subject=" ".join(_render_one(chosen.get("subject", subject), context, "subject").split()),
        body=_render_one(chosen.get("body", body), context, "body").strip() + "\n",
    )


# A conversation's reference in a subject ("[#cdc5a85a30e7]") threads replies; people
# reading the message list do not need it.
_THREAD_REFERENCE = re.compile(r"\s*\[#(?:[0-9a-f]{6,}|…)\]")
_PLACEHOLDER = re.compile(r"{{.*?}}|{%.*?%}")


def subject_for_display(template: str, context: Mapping[str, Any]) -> str:
    """A message's subject as the person saw it, for the pages that list messages: rendered
    with the message's own context, never as template source."""
    try:
        subject = " ".join(_render_one(template, context, "subject").split())
    except (MissingData, InvalidInput):
        subject = " ".join(_PLACEHOLDER.sub("…", template).split())
    return _THREAD_REFERENCE.sub("", subject).strip()
