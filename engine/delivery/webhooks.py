"""Webhook events: their bodies, their signatures, and POSTing them with the standard library.

An event is JSON: ``{"id", "type", "created", "data"}``, its body fixed when the event
is made, so that every retry sends the same bytes.  Its ``id`` is also its idempotency
key (the ``Idempotency-Key`` header): a receiver that has seen an id has seen the event.
Ids are derived from the issuer, the document and the event type, so the same event
always has the same id.

Each request is signed in the style of Stripe's ``Stripe-Signature``: the header
``Slabill-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>" under the
endpoint's secret>``.  The receiver recomputes it, compares in constant time and
refuses a timestamp too far from its clock (``verify`` does it, as a receiver would).

``post`` classifies the answer: 2xx delivered; 408, 425, 429 and 5xx, a refused or
dropped connection or a timeout transient; any other status permanent.  Redirects
are not followed (a signed event goes where it was configured to go, or nowhere).
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ssl
from urllib.parse import urlsplit

from ..core.canonical import canonical
from .smtp import Reply

SIGNATURE_HEADER = "Slabill-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
TOLERANCE_SECONDS = 300
"""how far a receiver lets a signature's timestamp be from its clock (``verify``)"""


def event_id(issuer: str, number: str, event: str) -> str:
    """The id, and idempotency key, of one event about one document.

    >>> event_id("FR58832476915", "AV-2026-000001", "document.issued")  # printf '...' | sha256sum
    'evt_c4acae734e8d25b073c2abdd7da52721'
    """
    return "evt_" + hashlib.sha256(f"{issuer}\n{number}\n{event}".encode("utf-8")).hexdigest()[:32]


def event_body(identifier: str, event: str, created: str, data: dict) -> str:
    """The event's JSON text (canonical: sorted keys, no spaces, UTF-8)."""
    return canonical({"id": identifier, "type": event, "created": created, "data": data})


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    """The signature header's value for a body sent at ``timestamp`` (Unix seconds).

    >>> # printf '1767225600.{"id":"evt_1"}' | openssl dgst -sha256 -hmac whsec_test
    >>> signature(b"whsec_test", 1767225600, b'{"id":"evt_1"}')
    't=1767225600,v1=45b40331de0325606dc5400202ade162460fbe48daf9401adfdcd0d7b4f35470'
    """
    mac = hmac.new(secret, str(timestamp).encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: bytes, header: str, body: bytes, now: int, tolerance: int = TOLERANCE_SECONDS) -> bool:
    """Whether ``header`` signs ``body`` under ``secret``, at a time within ``tolerance`` of ``now``.

    >>> header = signature(b"whsec_test", 1767225600, b"{}")
    >>> verify(b"whsec_test", header, b"{}", 1767225700), verify(b"other", header, b"{}", 1767225700)
    (True, False)
    >>> verify(b"whsec_test", header, b"{}", 1767225600 + 301)
    False
    """
    fields: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        fields.setdefault(key, []).append(value)
    try:
        timestamp = int(fields["t"][0])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body).partition(",v1=")[2]
    return any(hmac.compare_digest(expected, candidate) for candidate in fields.get("v1", []))


def post(url: str, body: bytes, headers: dict[str, str], timeout: float = 10.0) -> Reply:
    """POST one event and say how it ended; never raises for what the network or the receiver does."""
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        if parts.scheme == "https":
            connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                parts.hostname, parts.port, timeout=timeout, context=ssl.create_default_context())
        else:
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        try:
            connection.request("POST", path, body=body, headers={"Content-Type": "application/json",
                                                                 "Content-Length": str(len(body)), **headers})
            response = connection.getresponse()
            answer = " ".join(response.read(500).decode("utf-8", "replace").split())
            status = response.status
        finally:
            connection.close()
    except (OSError, http.client.HTTPException) as exc:
        return Reply("transient", None, f"{url}: {type(exc).__name__}: {exc}")
    detail = f"HTTP {status} {http.client.responses.get(status, '')}".rstrip() + (f": {answer}" if answer else "")
    if 200 <= status < 300:
        return Reply("delivered", str(status), detail)
    if status in (408, 425, 429) or status >= 500:
        return Reply("transient", str(status), detail)
    return Reply("permanent", str(status), detail)
