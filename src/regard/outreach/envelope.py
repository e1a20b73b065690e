"""The message a claimed outbox row becomes: rendered, with its footer and unsubscribe links, signed."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings

from regard.consent.tokens import link_token
from regard.outreach import dkim_keys, mime
from regard.outreach.footer import email_footer
from regard.outreach.models import Campaign, OutboxMessage
from regard.outreach.render import customer_context, render
from regard.outreach.selectors import Recipient


def envelope_build(
    row: OutboxMessage,
    campaign: Campaign | None,
    recipient: Recipient,
    now: datetime,
    key: dkim_keys.DkimKey | None,
) -> mime.Envelope:
    customer = recipient.customer
    domain = settings.REGARD_MAIL_DOMAIN
    context = customer_context(customer, row.context)
    list_unsubscribe = None
    if row.is_marketing:
        token = link_token(
            customer_id=customer.pk, purpose=row.purpose, channel=row.channel, message_id=row.message_id
        )
        unsubscribe_url = f"{settings.REGARD_PUBLIC_URL}/u/{token}"
        preferences_url = f"{settings.REGARD_PUBLIC_URL}/p/{token}"
        context.update(unsubscribe_url=unsubscribe_url, preferences_url=preferences_url)
        list_unsubscribe = (unsubscribe_url, f"mailto:unsubscribe@{domain}?subject=unsubscribe%20{token}")
    rendered = render(
        subject=row.subject or (campaign.subject if campaign else ""),
        body=row.body or (campaign.body if campaign else ""),
        variants=campaign.variants if campaign else {},
        language=customer.language,
        context=context,
    )
    body = rendered.body + email_footer(
        language=customer.language,
        purpose=row.purpose,
        marketing=row.is_marketing,
        unsubscribe_url=context.get("unsubscribe_url", ""),
        preferences_url=context.get("preferences_url", ""),
    )
    return mime.build(
        from_header=settings.REGARD_MAIL_FROM,
        to=recipient.address,
        subject=rendered.subject,
        body=body,
        message_id=row.message_id,
        date=now,
        domain=domain,
        list_unsubscribe=list_unsubscribe,
        key=key,
        extra_headers=mime.threading_headers(row.context),
    )
