"""Provider-looking identifiers. Integer ids come from the shared sequence so they never repeat
across gunicorn workers; string ids are random."""

from __future__ import annotations

import base64
import secrets

# Graph object ids (templates, media) are long numeric strings.
GRAPH_ID_BASE = 1_000_000_000_000_000
# Viber message tokens are large int64 values; starting here keeps them looking real.
VIBER_TOKEN_BASE = 5_741_311_803_571_721_087


def wamid(recipient: str) -> str:
    """``wamid.`` + base64 of a protobuf-like blob holding the recipient, like Meta's ids."""
    digits = recipient.encode()[:20]
    blob = b"\x18" + bytes([len(digits)]) + digits + b"\x15\x02\x00\x11\x18\x12" + secrets.token_hex(9).upper().encode()
    return "wamid." + base64.b64encode(blob + b"\x00").decode()


def fbtrace_id() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(8)).decode().rstrip("=")


def chat_hostname() -> str:
    return f"SN-CHAT-{secrets.randbelow(90) + 10:02d}_"
