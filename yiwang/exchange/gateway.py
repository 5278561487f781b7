"""The ``/r1/`` gateway: department systems read other departments' data here.

Modelled on the X-Road message protocol for REST: the service is named by its path
``/r1/{instance}/GOV/{provider department}/{subsystem}/{service}``, the caller by the
``X-Road-Client: {instance}/GOV/{department}/{system}`` header (and proves it with the
system's bearer token), ``X-Road-Id`` carries the request id (generated when absent),
``X-Road-Purpose`` the purpose and ``X-Road-Issue`` an optional case reference (both
percent-encoded UTF-8, e.g. ``%E5%AE%9E%E5%90%8D%E8%AE%A4%E8%AF%81``). Answers
carry ``X-Road-Id`` and ``X-Road-Request-Hash`` (SHA-256 of the request as received);
errors are ``{"type", "message", "detail"}`` with the request id as detail.

Metaservices on the same path with ``listMethods`` (the provider subsystem's services),
``allowedMethods`` (those the caller holds an active grant for) and ``getOpenAPI``
(``?serviceCode=``: one service's OpenAPI description) in place of the service code.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import urllib.parse
import uuid
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from yiwang.exchange import selectors, services
from yiwang.exchange.models import ConsumerSystem, DataResource
from yiwang.exchange.services import (
    BadRequest,
    ExchangeError,
    ExchangeRequest,
    Unauthenticated,
    UnknownService,
)

_REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,64}")
METASERVICES = {"listMethods", "allowedMethods", "getOpenAPI"}


def _request_hash(request: HttpRequest) -> str:
    parts = [
        request.method or "",
        request.get_full_path(),
        request.headers.get("X-Road-Client", ""),
        request.headers.get("X-Road-Purpose", ""),
        request.headers.get("X-Road-Issue", ""),
    ]
    digest = hashlib.sha256("\n".join(parts).encode())
    digest.update(request.body)
    return digest.hexdigest()


def _answer(body: dict[str, Any], status: int, request_id: str, request_hash: str) -> JsonResponse:
    response = JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})
    response["X-Road-Id"] = request_id
    response["X-Road-Request-Hash"] = request_hash
    response["Cache-Control"] = "no-store"
    return response


def _error(exc: ExchangeError, request_id: str, request_hash: str) -> JsonResponse:
    return _answer(
        {"type": exc.type, "message": exc.message, "detail": request_id},
        exc.status,
        request_id,
        request_hash,
    )


def _header_text(request: HttpRequest, name: str) -> str:
    """A free-text header (purpose, issue): percent-encoded UTF-8, as HTTP headers are ASCII.

    A client that sends raw UTF-8 anyway is understood too (WSGI hands it over as Latin-1).
    """
    value = request.headers.get(name, "")
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        value = value.encode("latin-1").decode("utf-8")
    return urllib.parse.unquote(value)


def _bearer(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


@csrf_exempt
def gateway(
    request: HttpRequest,
    instance: str,
    member_class: str,
    member: str,
    subsystem: str,
    service: str,
) -> JsonResponse:
    supplied_id = request.headers.get("X-Road-Id", "")
    request_id = supplied_id if _REQUEST_ID_RE.fullmatch(supplied_id) else uuid.uuid4().hex
    request_hash = _request_hash(request)
    client = request.headers.get("X-Road-Client", "")
    consumer = services.consumer_system_authenticate(client=client, token=_bearer(request))
    try:
        if request.method != "GET":
            raise BadRequest("only GET is supported")
        if supplied_id and supplied_id != request_id:
            raise BadRequest("X-Road-Id must be 1–64 letters, digits or . _ : -")
        if instance != settings.EXCHANGE_INSTANCE or member_class != "GOV":
            raise UnknownService(f"no member {instance}/{member_class}/{member} here")
        if service in METASERVICES:
            if consumer is None:
                raise Unauthenticated("unknown consumer system or wrong token")
            body = _metaservice(service, consumer, member, subsystem, request)
            return _answer(body, 200, request_id, request_hash)
    except ExchangeError as exc:
        try:
            services.exchange_refusal_log(
                error=exc,
                consumer_label=str(consumer) if consumer else client,
                provider=member,
                service=service,
                purpose=_header_text(request, "X-Road-Purpose"),
                request_id=request_id,
                request_digest=request_hash,
            )
        except ExchangeError as log_error:
            return _error(log_error, request_id, request_hash)
        return _error(exc, request_id, request_hash)
    try:
        result = services.exchange_fetch(
            consumer=consumer,
            consumer_label=client,
            request=ExchangeRequest(
                service=service,
                subject=request.GET.get("subject", ""),
                purpose=_header_text(request, "X-Road-Purpose"),
                fields=[f for f in request.GET.get("fields", "").split(",") if f] or None,
                issue=_header_text(request, "X-Road-Issue"),
                provider=member,
                request_id=request_id,
                request_digest=request_hash,
            ),
        )
    except ExchangeError as exc:
        return _error(exc, request_id, request_hash)
    return _answer({"records": result.records}, 200, request_id, request_hash)


def _service_entry(resource: DataResource) -> dict[str, str]:
    return {
        "serviceCode": resource.code,
        "name": resource.name,
        "serviceId": (
            f"{settings.EXCHANGE_INSTANCE}/GOV/{resource.provider.code}/"
            f"{resource.subsystem}/{resource.code}"
        ),
        "sharingType": resource.sharing_type,
    }


def _metaservice(
    name: str, consumer: ConsumerSystem, member: str, subsystem: str, request: HttpRequest
) -> dict[str, Any]:
    resources = selectors.data_resources_of_provider(member, subsystem)
    if name == "listMethods":
        return {"service": [_service_entry(r) for r in resources]}
    if name == "allowedMethods":
        granted = set(
            selectors.grants_active(consumer)
            .filter(resource__in=resources)
            .values_list("resource_id", flat=True)
        )
        return {"service": [_service_entry(r) for r in resources if r.pk in granted]}
    code = request.GET.get("serviceCode", "")
    resource = resources.filter(code=code).first()
    if resource is None:
        raise UnknownService(f"no service {code!r} at this provider")
    return services.resource_openapi(resource)
