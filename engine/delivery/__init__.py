"""Delivery: every issued document to its customer, once, by e-mail, and its events to the issuer's webhooks.

It reads the store (documents, contracts, the delivery log) and the documents' own
renderings (``invoices``), and writes only the delivery log, so it sits beside the audit,
above the store: the jobs (``run --deliver``, the demo) and the command line call it.

* ``deliver``: a run of ``slabill deliver``, and what an attempt's ending means;
* ``settings``: the SMTP server's URL and the webhook secrets;
* ``smtp``: SMTP with the standard library, one connection for many messages;
* ``messages``: the e-mail's bytes (headers, body alternatives, attachments);
* ``webhooks``: event bodies, Stripe-style signatures, and POSTing them.

SMTP and HTTP are spoken here and nowhere else (an import-linter contract holds it).
"""

from .deliver import DeliveryReport, Problem, deliver, resend
from .settings import SmtpServer, smtp_server

__all__ = ["DeliveryReport", "Problem", "SmtpServer", "deliver", "resend", "smtp_server"]
