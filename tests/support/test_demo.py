"""`regard demo` sets up the support desk: a team with business hours and an address, every channel."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from regard.support.demo import demo_support_address, support_demo_ensure
from regard.support.models import Conversation, Message, Team

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_team_an_address_and_conversations_on_every_channel(settings: object) -> None:
    out = StringIO()
    call_command("demo", customers=10, seed=3, stdout=out)
    team = Team.objects.get(slug="care")
    assert team.support_address == demo_support_address() == "support@regard.localhost"
    assert team.business_hours["mon"] == [["09:00", "17:00"]]
    assert team.business_hours["sat"] == []
    assert set(Conversation.objects.values_list("channel", flat=True)) == {"email", "chat", "phone", "form"}
    chain = Conversation.objects.get(subject="Earphones stopped working")
    assert chain.kind == "complaint"
    assert chain.messages.filter(direction="in").count() == 2  # the second mail threaded by In-Reply-To
    assert chain.customer.identifiers.filter(value_normalised="arthur.dent@example.org").exists()
    assert Message.objects.exclude(parse_error="").count() == 1
    assert Conversation.objects.get(channel="chat").wants_human
    assert "support@regard.localhost" in out.getvalue()

    made = Conversation.objects.count()  # the desk's five and those of the demos built on it
    assert support_demo_ensure() == []  # made once
    assert Conversation.objects.count() == made
