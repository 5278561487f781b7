"""The platform's URLs plus ``POST /bench/baseline``, the yardstick of the benchmark.

The baseline goes through the same middleware, the same bearer-token authentication and
the same API throttles as the platform API, and inserts one row (an inbox message for the
caller) with the same service the platform uses, then returns it. Whatever the
submission costs beyond it is the cost of the submission itself.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.urls import path
from ninja import NinjaAPI, Status
from ninja.throttling import BaseThrottle, SimpleRateThrottle

from config.api import api as platform_api
from config.urls import handler400, handler403, handler404, handler500, urlpatterns
from yiwang.applications.schemas import NotificationOut
from yiwang.applications.services import notify
from yiwang.identity.auth import api_auth

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]


def _throttles_raise(throttles: list[BaseThrottle], rate: str) -> None:
    for throttle in throttles:
        if isinstance(throttle, SimpleRateThrottle):
            throttle.rate = rate
            throttle.num_requests, throttle.duration = throttle.parse_rate(rate)


_throttles_raise(platform_api.throttle, settings.BENCH_API_THROTTLE_RATE)

baseline_api = NinjaAPI(
    title="Yiwang benchmark baseline",
    urls_namespace="bench",
    auth=api_auth,
    throttle=platform_api.throttle,
    docs_url=None,
    openapi_url=None,
)


@baseline_api.post("/baseline", response={201: NotificationOut})
def baseline(request: HttpRequest) -> Status[NotificationOut]:
    notification = notify(user=request.user, title="基准", body="baseline")
    return Status(201, NotificationOut.from_orm(notification))


def provider_direct(request: HttpRequest, service: str) -> JsonResponse:
    """The provider call of the exchange benchmark, made directly: the same consumer
    authentication as the gateway, then the provider, without grant, consent, masking or
    log. ``bench/exchange_gateway.py`` compares the gateway with it."""
    from yiwang.exchange.providers import provider_for
    from yiwang.exchange.selectors import data_resource_get
    from yiwang.exchange.services import consumer_system_authenticate

    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    consumer = consumer_system_authenticate(
        client=request.headers.get("X-Road-Client", ""),
        token=token if scheme.lower() == "bearer" else "",
    )
    resource = data_resource_get(service)
    if consumer is None or resource is None:
        return JsonResponse({"type": "Client.Unauthenticated"}, status=401)
    records = provider_for(resource.provider.code).records_get(
        service=service, subject=request.GET.get("subject", "")
    )
    return JsonResponse({"records": records}, json_dumps_params={"ensure_ascii": False})


urlpatterns = [
    path("bench/", baseline_api.urls),
    path("bench/provider/<slug:service>", provider_direct),
    *urlpatterns,
]
