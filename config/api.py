"""The one JSON API of the platform, at /api/v1, with its error mapping.

Every error leaves as ``{"code": ..., "message": ..., "fields": {...}}`` with the HTTP
status that fits it.
"""

from __future__ import annotations

import logging

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.errors import AuthorizationError as NinjaAuthorizationError
from ninja.throttling import AnonRateThrottle, UserRateThrottle

from yiwang.core.api import error_response, pydantic_errors_to_fields
from yiwang.core.errors import YiwangError
from yiwang.identity.auth import api_auth

logger = logging.getLogger(__name__)

api = NinjaAPI(
    title="Yiwang API",
    version="1",
    description=(
        "一网 digital-government platform. Authenticate with the session cookie "
        "(plus the CSRF token for writes) or with `Authorization: Bearer <token>`. "
        "Every error has the body `{code, message, fields}`."
    ),
    urls_namespace="api",
    auth=api_auth,
    throttle=[AnonRateThrottle("60/m"), UserRateThrottle("600/m")],
)


@api.exception_handler(YiwangError)
def on_yiwang_error(request: HttpRequest, exc: YiwangError) -> HttpResponse:
    response = error_response(exc.status, exc.code, str(exc.message), exc.fields)
    retry_after = getattr(exc, "retry_after", None)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return error_response(
        422,
        "validation_failed",
        _("Some fields are not valid."),
        pydantic_errors_to_fields(exc.errors),
    )


@api.exception_handler(AuthenticationError)
def on_not_authenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error_response(401, "not_authenticated", _("Please log in first."))


@api.exception_handler(NinjaAuthorizationError)
def on_not_authorised(request: HttpRequest, exc: NinjaAuthorizationError) -> HttpResponse:
    return error_response(403, "permission_denied", _("You are not allowed to do this."))


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(404, "not_found", _("Not found."))


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 429:
        return error_response(429, "rate_limited", _("Too many requests. Please try again later."))
    if exc.status_code == 403:
        # Raised by session authentication when the CSRF token is missing or wrong.
        return error_response(
            403, "csrf_failed", _("The security check failed. Reload the page and try again.")
        )
    return error_response(exc.status_code, "http_error", str(exc))


@api.exception_handler(SuspiciousOperation)
def on_suspicious_request(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
    if isinstance(exc, RequestDataTooBig):
        return error_response(413, "too_large", _("The request is too large."))
    return error_response(400, "bad_request", _("The request could not be understood."))


@api.exception_handler(Exception)
def on_unexpected_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("Unhandled error in %s %s", request.method, request.path)
    return error_response(
        500, "server_error", _("Something went wrong on our side. Please try again.")
    )


api.add_router("/", "yiwang.core.api.router")
api.add_router("/", "yiwang.identity.api.router")
api.add_router("/", "yiwang.catalog.api.router")
api.add_router("/", "yiwang.applications.api.router")
api.add_router("/", "yiwang.exchange.api.router")
api.add_router("/", "yiwang.certificates.api.router")
api.add_router("/", "yiwang.health.api_person.router")
api.add_router("/", "yiwang.health.api_codes.router")
api.add_router("/", "yiwang.health.api_venues.router")
api.add_router("/", "yiwang.health.api_tracing.router")
