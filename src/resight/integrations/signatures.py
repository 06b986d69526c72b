"""Webhook credentials: Standard Webhooks signatures, API keys, and their encryption at rest.

Signing secrets are `whsec_<base64 key>`; the signature is base64(HMAC-SHA256(key, "id.timestamp.body"))
over the raw request bytes, sent as `v1,<signature>` (several, space-separated, while a sender
switches keys). API keys are compared by SHA-256 only. Signing secrets must be recoverable to verify,
so they are stored Fernet-encrypted under a key derived from the application's secret key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken

SECRET_PREFIX = "whsec_"
API_KEY_PREFIX = "rsk_"
TOLERANCE_SECONDS = 5 * 60
MAX_SIGNATURES = 10


class SignatureError(ValueError):
    """Why a request's credentials were refused (the 401 detail)."""


def fernet_for(app_secret_key: str) -> Fernet:
    digest = hashlib.sha256(b"resight/store-webhook-secrets\x00" + app_secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def new_signing_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def api_key_hash(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def hint(secret: str) -> str:
    """What lists may show of a secret: its kind and last four characters."""
    prefix = SECRET_PREFIX if secret.startswith(SECRET_PREFIX) else API_KEY_PREFIX
    return f"{prefix}…{secret[-4:]}"


def encrypt_secret(fernet: Fernet, secret: str) -> str:
    return fernet.encrypt(secret.encode()).decode()


def signing_key(fernet: Fernet, encrypted: str) -> bytes:
    """The HMAC key of a stored secret."""
    try:
        secret = fernet.decrypt(encrypted.encode()).decode()
    except InvalidToken as exc:
        raise SignatureError(
            "a stored webhook secret cannot be decrypted (was the secret key changed?)"
        ) from exc
    return key_of(secret)


def key_of(secret: str) -> bytes:
    body = secret.removeprefix(SECRET_PREFIX)
    try:
        return base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except binascii.Error as exc:
        raise SignatureError("malformed webhook secret") from exc


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = b"%s.%d.%s" % (msg_id.encode(), timestamp, body)
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


@dataclass(frozen=True, slots=True)
class SignedHeaders:
    msg_id: str
    timestamp: int
    signatures: tuple[bytes, ...]


def parse_headers(
    msg_id: str | None, timestamp: str | None, signature: str | None, *, now: float
) -> SignedHeaders:
    """Check presence, form and freshness (5 minutes either way) of the Standard Webhooks headers."""
    if not msg_id or not timestamp or not signature:
        raise SignatureError("missing webhook-id, webhook-timestamp or webhook-signature header")
    try:
        moment = int(timestamp)
    except ValueError as exc:
        raise SignatureError("webhook-timestamp is not a Unix time in seconds") from exc
    if moment < now - TOLERANCE_SECONDS:
        raise SignatureError("webhook-timestamp is too old (more than 5 minutes)")
    if moment > now + TOLERANCE_SECONDS:
        raise SignatureError("webhook-timestamp is too far in the future (more than 5 minutes)")
    found: list[bytes] = []
    for part in signature.split(" ")[:MAX_SIGNATURES]:
        version, _, value = part.partition(",")
        if version != "v1" or not value:
            continue
        try:
            found.append(base64.b64decode(value, validate=True))
        except binascii.Error:
            continue
    if not found:
        raise SignatureError("webhook-signature holds no v1 signature")
    return SignedHeaders(msg_id, moment, tuple(found))


def verify(keys: Iterable[bytes], headers: SignedHeaders, body: bytes) -> bool:
    """True when any signature matches any key (constant-time comparisons)."""
    signed = b"%s.%d.%s" % (headers.msg_id.encode(), headers.timestamp, body)
    matched = False
    for key in keys:
        expected = hmac.new(key, signed, hashlib.sha256).digest()
        for candidate in headers.signatures:
            matched |= hmac.compare_digest(expected, candidate)
    return matched


def unix_now() -> float:
    return time.time()
