"""The footer of every email, in the recipient's language (S1, S7).

Why they receive it and how to stop it, one click away, in the language the rest of the
message speaks: a German newsletter with an English "you agreed to newsletter" reads as
the spam our customers complain about.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext, pgettext

# Purposes in words, translated in the footer's sentence (context "email footer": other pages
# name the same purposes as labels); a purpose a company adds itself is named as configured.
PURPOSE_WORDS = {
    "newsletter": "our newsletter",
    "offers": "offers",
    "surveys": "surveys",
    "service": "service messages",
}
FOOTER = "email footer"


def email_footer(
    *, language: str, purpose: str, marketing: bool, unsubscribe_url: str = "", preferences_url: str = ""
) -> str:
    with translation.override(language or "en"):
        if not marketing:
            return f"\n--\n{gettext('Reply to this message to reach a person.')}\n{settings.REGARD_POSTAL_ADDRESS}\n"
        words = pgettext(FOOTER, PURPOSE_WORDS[purpose]) if purpose in PURPOSE_WORDS else purpose
        why = gettext("You receive this email because you agreed to receive %(purpose)s.") % {
            "purpose": words
        }
        stop = gettext("Unsubscribe with one click: %(url)s") % {"url": unsubscribe_url}
        choose = gettext("Choose topics, channels and how often, or pause: %(url)s") % {
            "url": preferences_url
        }
    return f"\n--\n{why}\n{stop}\n{choose}\n{settings.REGARD_POSTAL_ADDRESS}\n"
