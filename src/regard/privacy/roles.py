"""Roles and the permission matrix (C7).

Roles are Django groups of the same name. The matrix below is the single source of
truth: every API route and page asks ``privacy.access.require`` for one of these
capabilities, and docs/permissions.md is generated from this table
(tests/privacy/test_roles.py keeps them equal).
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    AGENT = "agent"
    MARKETER = "marketer"
    ANALYST = "analyst"
    # Watches service quality and decides policy (SPEC, "Who uses it"): edits remedy
    # policies, decides exception groups, sees every team's promises.
    MANAGER = "manager"
    # A marketing partner sending on the company's behalf: may check hashed
    # addresses against the suppression list and nothing else (S5).
    PARTNER = "partner"


class Capability(StrEnum):
    CUSTOMER_READ = "customer.read"
    CUSTOMER_WRITE = "customer.write"
    CUSTOMER_MERGE = "customer.merge"
    CUSTOMER_ERASE = "customer.erase"
    ORDER_WRITE = "order.write"
    DATA_IMPORT = "data.import"
    AUDIT_READ = "audit.read"
    TOKEN_MANAGE = "token.manage"
    MATCH_REVIEW = "match.review"
    MATCH_RUN = "match.run"
    CONSENT_READ = "consent.read"
    CONSENT_WRITE = "consent.write"
    SUPPRESSION_CHECK = "suppression.check"
    CAMPAIGN_MANAGE = "campaign.manage"
    MESSAGE_SEND = "message.send"
    EVENT_WRITE = "event.write"
    CONVERSATION_READ = "conversation.read"
    CONVERSATION_WRITE = "conversation.write"
    SUPPORT_ADMIN = "support.admin"
    POLICY_MANAGE = "policy.manage"
    REMEDY_GRANT = "remedy.grant"
    PROMISE_WRITE = "promise.write"
    PROMISE_READ_ALL = "promise.read_all"
    EXCEPTION_LOG = "exception.log"
    EXCEPTION_DECIDE = "exception.decide"
    MIRROR_READ = "mirror.read"
    DASHBOARD_READ = "dashboard.read"
    RECOVERY_WORK = "recovery.work"
    CUSTOMER_EXPORT = "customer.export"


PERMISSION_MATRIX: dict[Capability, frozenset[Role]] = {
    # Personal data is for the people who serve the customer; marketers work on
    # audiences and analysts on aggregates, neither needs to read a profile.
    Capability.CUSTOMER_READ: frozenset({Role.ADMIN, Role.AGENT, Role.MANAGER}),
    Capability.CUSTOMER_WRITE: frozenset({Role.ADMIN, Role.AGENT}),
    Capability.CUSTOMER_MERGE: frozenset({Role.ADMIN, Role.AGENT}),
    # Art. 17 cannot be undone: only an admin erases.
    Capability.CUSTOMER_ERASE: frozenset({Role.ADMIN}),
    Capability.ORDER_WRITE: frozenset({Role.ADMIN, Role.AGENT}),
    Capability.DATA_IMPORT: frozenset({Role.ADMIN}),
    Capability.AUDIT_READ: frozenset({Role.ADMIN}),
    Capability.TOKEN_MANAGE: frozenset({Role.ADMIN}),
    Capability.MATCH_REVIEW: frozenset({Role.ADMIN, Role.AGENT}),
    Capability.MATCH_RUN: frozenset({Role.ADMIN}),
    Capability.CONSENT_READ: frozenset({Role.ADMIN, Role.AGENT}),
    Capability.CONSENT_WRITE: frozenset({Role.ADMIN, Role.AGENT}),
    Capability.SUPPRESSION_CHECK: frozenset({Role.ADMIN, Role.PARTNER}),
    # Marketers plan campaigns over audiences; the gate, not they, decides who is contacted.
    Capability.CAMPAIGN_MANAGE: frozenset({Role.ADMIN, Role.MARKETER}),
    Capability.MESSAGE_SEND: frozenset({Role.ADMIN, Role.AGENT}),
    Capability.EVENT_WRITE: frozenset({Role.ADMIN, Role.AGENT}),
    # The support desk: agents answer customers; admins also set up teams, SLAs, chat sites, webhooks.
    Capability.CONVERSATION_READ: frozenset({Role.ADMIN, Role.AGENT, Role.MANAGER}),
    Capability.CONVERSATION_WRITE: frozenset({Role.ADMIN, Role.AGENT}),
    Capability.SUPPORT_ADMIN: frozenset({Role.ADMIN}),
    # C5: agents apply policy and keep their promises; managers change policy and decide
    # what keeps coming back as an exception.
    Capability.POLICY_MANAGE: frozenset({Role.ADMIN, Role.MANAGER}),
    Capability.REMEDY_GRANT: frozenset({Role.ADMIN, Role.AGENT, Role.MANAGER}),
    Capability.PROMISE_WRITE: frozenset({Role.ADMIN, Role.AGENT, Role.MANAGER}),
    Capability.PROMISE_READ_ALL: frozenset({Role.ADMIN, Role.MANAGER}),
    Capability.EXCEPTION_LOG: frozenset({Role.ADMIN, Role.AGENT, Role.MANAGER}),
    Capability.EXCEPTION_DECIDE: frozenset({Role.ADMIN, Role.MANAGER}),
    # C6: the mirror is one person's data; the dashboard is aggregates only, so analysts see it.
    Capability.MIRROR_READ: frozenset({Role.ADMIN, Role.AGENT, Role.MANAGER}),
    Capability.DASHBOARD_READ: frozenset({Role.ADMIN, Role.MANAGER, Role.ANALYST}),
    Capability.RECOVERY_WORK: frozenset({Role.ADMIN, Role.AGENT, Role.MANAGER}),
    # Art. 15/20: an export holds everything about a person in one file, so only admins make
    # one, download it or send the customer its link.
    Capability.CUSTOMER_EXPORT: frozenset({Role.ADMIN}),
}

CAPABILITY_DESCRIPTIONS: dict[Capability, str] = {
    Capability.CUSTOMER_READ: "Read customer profiles, identifiers, orders and timelines",
    Capability.CUSTOMER_WRITE: "Create and change customers, identifiers and timeline entries",
    Capability.CUSTOMER_MERGE: "Merge two customers and undo merges",
    Capability.CUSTOMER_ERASE: (
        "Erase a customer (GDPR Art. 17): personal data redacted everywhere, a keyed-hash tombstone kept"
    ),
    Capability.ORDER_WRITE: "Record orders",
    Capability.DATA_IMPORT: "Import customers and orders from CSV",
    Capability.AUDIT_READ: "List the audit log",
    Capability.TOKEN_MANAGE: "Create and revoke API tokens",
    Capability.MATCH_REVIEW: "Review likely duplicate profiles: see why they match, merge, reject, undo",
    Capability.MATCH_RUN: "Train the matching model and start batch matching runs",
    Capability.CONSENT_READ: "Read a customer's consent history and contact preferences",
    Capability.CONSENT_WRITE: "Record consent grants and withdrawals and set preferences for a customer",
    Capability.SUPPRESSION_CHECK: "Check SHA-256 hashes of addresses against the suppression list",
    Capability.CAMPAIGN_MANAGE: (
        "Create, preview, launch, watch, resume and cancel campaigns; previews show counts and"
        " sample messages with names masked unless the user may also read customers"
    ),
    Capability.MESSAGE_SEND: "Send a service message to one customer through the gate",
    Capability.EVENT_WRITE: "Post customer events (cart abandoned, purchase, web visit) that drive journeys",
    Capability.CONVERSATION_READ: "Read support conversations with their messages, notes and attachments",
    Capability.CONVERSATION_WRITE: "Open conversations, reply, add notes, log calls, assign and change status",
    Capability.SUPPORT_ADMIN: "Set up support teams, SLA policies, chat sites and webhook endpoints",
    Capability.POLICY_MANAGE: "Create and change remedy policies and statutory guarantees",
    Capability.REMEDY_GRANT: "Grant a remedy (replacement, refund, repair, credit) to a customer",
    Capability.PROMISE_WRITE: "Record promises made to a customer and mark them kept or withdrawn",
    Capability.PROMISE_READ_ALL: "See every team's promises, not only one's own and one's team's",
    Capability.EXCEPTION_LOG: "Log a request that falls outside policy and move it between groups",
    Capability.EXCEPTION_DECIDE: "Decide a recurring exception group: adopt it as policy or decline it",
    Capability.MIRROR_READ: "Read the customer mirror: what the company did to one person",
    Capability.DASHBOARD_READ: "Read the service dashboard (aggregates, no personal data)",
    Capability.RECOVERY_WORK: "Claim, work and close items on the recovery worklist",
    Capability.CUSTOMER_EXPORT: (
        "Export everything held about a customer (GDPR Art. 15/20), download the archive and"
        " send the customer a signed download link"
    ),
}


def permission_matrix_markdown() -> str:
    roles = list(Role)
    lines = [
        "| capability | what it allows | " + " | ".join(r.value for r in roles) + " |",
        "|---|---|" + "---|" * len(roles),
    ]
    for capability, allowed in PERMISSION_MATRIX.items():
        marks = " | ".join("yes" if role in allowed else "—" for role in roles)
        lines.append(f"| `{capability.value}` | {CAPABILITY_DESCRIPTIONS[capability]} | {marks} |")
    return "\n".join(lines) + "\n"
