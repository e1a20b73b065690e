"""Every write of the support desk (C4), one module per concept:

* ``conversations``: opening one, a customer's message, notes, assignment, status;
* ``replies``: an agent's answer, read by the reply check, sent through the outbox;
* ``calls``: a phone call logged as a conversation;
* ``forms``: the public contact form;
* ``contacts``: the person behind a sender address or phone number;
* ``inputs``: the limits and checks every one of them applies to text and choices.

Each function is keyword-only, runs in one transaction, writes its timeline event and
audit entry, and tells ``support.hooks`` what happened (after commit) so SLA timers,
live inboxes and webhooks follow without these modules importing them. Callers import
from here; the names are the same as when this was one module.
"""

from regard.errors import InvalidInput  # raised by every service here; tests catch it by this name
from regard.support.services.calls import call_log
from regard.support.services.contacts import customer_for_contact
from regard.support.services.conversations import (
    AttachmentInput,
    conversation_assign,
    conversation_open,
    conversation_set_status,
    message_receive,
    note_add,
)
from regard.support.services.forms import form_submit
from regard.support.services.inputs import MAX_BODY, MAX_SUBJECT
from regard.support.services.replies import (
    ReplyNeedsReview,
    last_sender_address,
    reply_findings,
    reply_send,
    reply_subject,
    support_address_for,
)

__all__ = [
    "MAX_BODY",
    "MAX_SUBJECT",
    "AttachmentInput",
    "InvalidInput",
    "ReplyNeedsReview",
    "call_log",
    "conversation_assign",
    "conversation_open",
    "conversation_set_status",
    "customer_for_contact",
    "form_submit",
    "last_sender_address",
    "message_receive",
    "note_add",
    "reply_findings",
    "reply_send",
    "reply_subject",
    "support_address_for",
]
