"""Webhook signatures that receivers verify with the `standardwebhooks` package."""

import base64
import json
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from chalicelib.webhooks.signing import new_secret, signature_headers

BODY = json.dumps({"text": "새 일정: 팀 회의 (2024-01-25 오후 3:00)"}, ensure_ascii=False).encode()


def test_the_published_standard_webhooks_example_signs_to_its_published_signature():
    # Given the example every Standard Webhooks library tests against
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    # When it is signed
    headers = signature_headers(
        secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", b'{"test": 2432232314}', timestamp=1614265330
    )
    # Then the headers are exactly the published ones
    assert headers == {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }


def test_a_receiver_verifies_a_korean_body_with_the_standardwebhooks_package():
    # Given a new secret and a body with Korean text, signed now
    secret = new_secret()
    headers = signature_headers(secret, "notification-1", BODY, timestamp=int(time.time()))
    # When the receiver verifies it with the same package
    payload = Webhook(secret).verify(BODY, headers)
    # Then it accepts it and reads the text as it was written
    assert payload == {"text": "새 일정: 팀 회의 (2024-01-25 오후 3:00)"}


def test_a_changed_body_or_another_secret_fails_verification():
    secret = new_secret()
    headers = signature_headers(secret, "notification-1", BODY, timestamp=int(time.time()))
    tampered = BODY.replace("팀 회의".encode(), "팀 휴가".encode())
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(tampered, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, headers)


def test_a_retry_keeps_the_id_and_signs_its_own_timestamp():
    # Given the same notification signed for two attempts a minute apart
    secret = new_secret()
    now = int(time.time())
    first = signature_headers(secret, "notification-1", BODY, timestamp=now - 60)
    retry = signature_headers(secret, "notification-1", BODY, timestamp=now)
    # Then the id stays, the timestamp and signature change, and both verify
    assert first["webhook-id"] == retry["webhook-id"] == "notification-1"
    assert (first["webhook-timestamp"], retry["webhook-timestamp"]) == (str(now - 60), str(now))
    assert first["webhook-signature"] != retry["webhook-signature"]
    for headers in (first, retry):
        Webhook(secret).verify(BODY, headers)


def test_a_signature_from_an_old_attempt_is_refused_by_receivers():
    # Receivers refuse timestamps more than five minutes old: every attempt must sign anew
    secret = new_secret()
    stale = signature_headers(secret, "notification-1", BODY, timestamp=int(time.time()) - 600)
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(BODY, stale)


def test_a_new_secret_is_whsec_and_32_random_bytes_in_base64():
    secrets = {new_secret() for _ in range(20)}
    assert len(secrets) == 20
    for secret in secrets:
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
