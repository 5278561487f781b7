from django.urls import re_path

from yiwang.exchange import gateway

app_name = "gateway"

urlpatterns = [
    re_path(
        r"^(?P<instance>[^/]+)/(?P<member_class>[^/]+)/(?P<member>[^/]+)/(?P<subsystem>[^/]+)/"
        r"(?P<service>[^/]+)$",
        gateway.gateway,
        name="service",
    ),
]
