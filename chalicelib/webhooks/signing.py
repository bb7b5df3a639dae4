"""Signatures per the Standard Webhooks specification (https://www.standardwebhooks.com).

Each request carries three headers:
- `webhook-id`: the notification's id, the same on every retry, so receivers can drop duplicates;
- `webhook-timestamp`: when this attempt was signed, in unix seconds (receivers refuse old ones);
- `webhook-signature`: `v1,` + base64 of HMAC-SHA256 over `{id}.{timestamp}.{body}`.

The signature comes from the `standardwebhooks` package itself, the one receivers verify with,
so the two cannot disagree. Its signing module imports only the standard library.
"""

import base64
import secrets
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"
# Within the 24 to 64 bytes the specification asks for; 32 bytes match SHA-256's own strength.
SECRET_BYTES = 32


def new_secret() -> str:
    """A fresh signing secret: `whsec_` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def signature_headers(
    secret: str, message_id: str, body: bytes, *, timestamp: int
) -> dict[str, str]:
    """The three Standard Webhooks headers for sending `body` (UTF-8, as JSON always is) at
    `timestamp` (unix seconds). Sign again for every attempt: receivers refuse old timestamps."""
    # The library signs text and encodes it as UTF-8 again, so the bytes signed are `body` itself.
    text = body.decode("utf-8")
    # An aware UTC datetime: the library replaces the zone rather than converting it.
    moment = datetime.fromtimestamp(timestamp, UTC)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": Webhook(secret).sign(message_id, moment, text),
    }
