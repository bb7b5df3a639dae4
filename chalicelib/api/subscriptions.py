"""/api/departments/{department_id}/subscriptions: webhooks that a department's editors point at
their own systems, their signing secrets, and the log of what was delivered to each.

A new subscription's URL is called once, signed as every notification will be, before anything
is stored: only an address that answers 2xx is subscribed, so a typo or a receiver that cannot
verify signatures is found at once rather than by a day of failed deliveries.
"""

from dataclasses import asdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint, Response

from chalicelib.api.access import AUTHORIZER
from chalicelib.api.http import (
    actor,
    checked_id,
    handles_errors,
    json_body,
    json_response,
    model_response,
    page_params,
    stage_prefix,
)
from chalicelib.api.roles import EDITOR, requires
from chalicelib.context import get_context
from chalicelib.errors import DepartmentNotFound, FieldProblem, ValidationFailed

if TYPE_CHECKING:
    from chalicelib.repositories.subscriptions import Subscription
    from chalicelib.webhooks.delivery import DeliveryResult
    from chalicelib.webhooks.urls import WebhookUrl

# The models (and pydantic with them) and the webhook sender are imported inside the views, on
# the first request that needs them: `import app` stays without them (test_cold_start.py).

subscriptions = Blueprint(__name__)

_SUBSCRIPTIONS = "/departments/{department_id}/subscriptions"
_SUBSCRIPTION = _SUBSCRIPTIONS + "/{subscription_id}"
_REDIRECTED = "redirects are not followed; subscribe the final address"


@subscriptions.route(_SUBSCRIPTIONS, methods=["POST"], authorizer=AUTHORIZER)
@requires(EDITOR)
@handles_errors
def create_subscription(department_id: str) -> Response:
    from chalicelib.models import SubscriptionCreate, SubscriptionCreated, parse
    from chalicelib.webhooks.urls import check_url

    request = subscriptions.current_request
    department_id = checked_id(department_id, "department")
    data = parse(SubscriptionCreate, json_body(request))
    creator = actor(request)
    context = get_context()
    allow_private = context.settings.allow_private_webhooks
    url = check_url(data.url, allow_private)
    # A department that does not exist is a 404 before anyone's URL is called.
    if not context.departments.exists(department_id):
        raise DepartmentNotFound(department_id)
    subscription = context.subscriptions.create(
        department_id,
        data.url,
        data.events,
        data.format,
        creator,
        confirm=lambda new: _test_call(new, url, allow_private),
    )
    location = stage_prefix(request) + f"/api{_path_of(subscription)}"
    created = SubscriptionCreated.model_validate(asdict(subscription))
    return model_response(created, 201, {"Location": location})


@subscriptions.route(_SUBSCRIPTIONS, methods=["GET"], authorizer=AUTHORIZER)
@requires(EDITOR)
@handles_errors
def list_subscriptions(department_id: str) -> Response:
    from chalicelib.models import SubscriptionAnswer, SubscriptionPage

    request = subscriptions.current_request
    department_id = checked_id(department_id, "department")
    limit, token = page_params(request)
    context = get_context()
    found, next_token = context.subscriptions.page(department_id, limit, token)
    # Only an empty first page can hide a department that does not exist: one read, then.
    if not found and token is None and not context.departments.exists(department_id):
        raise DepartmentNotFound(department_id)
    items = [SubscriptionAnswer.model_validate(_without_secret(s)) for s in found]
    return model_response(SubscriptionPage(items=items, next_token=next_token))


@subscriptions.route(_SUBSCRIPTION, methods=["GET"], authorizer=AUTHORIZER)
@requires(EDITOR)
@handles_errors
def get_subscription(department_id: str, subscription_id: str) -> Response:
    from chalicelib.models import SubscriptionAnswer

    subscription = get_context().subscriptions.get(*_ids(department_id, subscription_id))
    return model_response(SubscriptionAnswer.model_validate(_without_secret(subscription)))


@subscriptions.route(_SUBSCRIPTION, methods=["DELETE"], authorizer=AUTHORIZER)
@requires(EDITOR)
@handles_errors
def delete_subscription(department_id: str, subscription_id: str) -> Response:
    get_context().subscriptions.delete(*_ids(department_id, subscription_id))
    return json_response(None, 204)


@subscriptions.route(_SUBSCRIPTION + "/secret", methods=["POST"], authorizer=AUTHORIZER)
@requires(EDITOR)
@handles_errors
def rotate_subscription_secret(department_id: str, subscription_id: str) -> Response:
    from chalicelib.models import SubscriptionSecret

    request = subscriptions.current_request
    department_id, subscription_id = _ids(department_id, subscription_id)
    rotated = get_context().subscriptions.rotate_secret(
        department_id, subscription_id, actor(request)
    )
    return model_response(SubscriptionSecret(secret=rotated.secret))


@subscriptions.route(_SUBSCRIPTION + "/deliveries", methods=["GET"], authorizer=AUTHORIZER)
@requires(EDITOR)
@handles_errors
def subscription_deliveries(department_id: str, subscription_id: str) -> Response:
    from chalicelib.models import DeliveryPage

    request = subscriptions.current_request
    department_id, subscription_id = _ids(department_id, subscription_id)
    limit, token = page_params(request)
    repository = get_context().subscriptions
    # The log is keyed by subscription alone: reading the subscription under this department
    # first is what keeps one department's editors out of another's deliveries.
    repository.get(department_id, subscription_id)
    items, next_token = repository.deliveries_page(subscription_id, limit, token)
    return model_response(DeliveryPage.model_validate({"items": items, "next_token": next_token}))


def _test_call(subscription: "Subscription", url: "WebhookUrl", allow_private: bool) -> None:
    """Call the new subscription's URL (`url`, checked) with a signed `ping`; anything but a
    2xx answer in time refuses the subscription with a 400 naming `url`. The host is resolved
    once, here: the addresses checked are the ones called."""
    from chalicelib.clock import timestamp
    from chalicelib.webhooks.addresses import destination_addresses
    from chalicelib.webhooks.delivery import send_webhook
    from chalicelib.webhooks.payloads import Format, ping_body
    from chalicelib.webhooks.signing import signature_headers

    try:
        # Refuses private, loopback and metadata addresses (400 on `url`, as check_url does).
        addresses = [str(a) for a in destination_addresses(url, allow_private)]
    except OSError as error:
        raise _test_call_failed(f"could not resolve the host ({error})") from None
    body_format: Format = "slack" if subscription.format == "slack" else "json"
    now = datetime.now(UTC)
    body = ping_body(subscription.department_id, timestamp(now), body_format)
    signature = signature_headers(
        subscription.secret, f"ping_{subscription.id}", body, timestamp=int(now.timestamp())
    )
    result = send_webhook(
        subscription.url,
        body,
        {"Content-Type": "application/json; charset=utf-8", **signature},
        allow_private=allow_private,
        resolver=lambda _host, _port: addresses,
    )
    if not result.delivered:
        raise _refusal(result)


def _refusal(result: "DeliveryResult") -> ValidationFailed:
    # Only the status and DeliveryResult's own words: the receiver's body is not echoed back.
    if result.status is not None and 300 <= result.status < 400:
        return ValidationFailed(
            f"The test call to the URL was redirected ({result.error}): {_REDIRECTED}.",
            fields=(FieldProblem("url", _REDIRECTED),),
        )
    return _test_call_failed(str(result.error))


def _test_call_failed(reason: str) -> ValidationFailed:
    return ValidationFailed(
        f"The test call to the URL failed: {reason}.",
        fields=(FieldProblem("url", f"the test call failed: {reason}"),),
    )


def _ids(department_id: str, subscription_id: str) -> tuple[str, str]:
    return checked_id(department_id, "department"), checked_id(subscription_id, "subscription")


def _path_of(subscription: "Subscription") -> str:
    return f"/departments/{subscription.department_id}/subscriptions/{subscription.id}"


def _without_secret(subscription: "Subscription") -> dict[str, Any]:
    """The subscription's fields as every answer but a create's shows them."""
    shown = asdict(subscription)
    del shown["secret"]
    return shown
