from django.contrib import admin
from django.urls import include, path

from config.api import api
from yiwang.portal import views as portal_views

admin.site.site_header = "一网 · 平台管理"
admin.site.site_title = "一网平台管理"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    # The data-exchange gateway for department systems (X-Road style message protocol).
    path("r1/", include("yiwang.exchange.gateway_urls")),
    path("i18n/setlang/", portal_views.language_switch, name="set_language"),
    path("accounts/", include("yiwang.identity.urls")),
    # Single sign-on for department applications: the OpenID Connect provider.
    path("oidc/", include("yiwang.identity.oidc_urls")),
    path("services/", include("yiwang.catalog.urls")),
    path("exchange/", include("yiwang.exchange.urls")),
    path("certificates/", include("yiwang.certificates.public_urls")),
    # Sub-pages of /me/ (the portal's "Me" page itself stays in yiwang.portal.urls).
    path("me/", include("yiwang.exchange.me_urls")),
    path("me/", include("yiwang.identity.me_urls")),
    path("me/certificates/", include("yiwang.certificates.urls")),
    path("certificates/shared/", include("yiwang.certificates.shared_urls")),
    path("workbench/certificates/", include("yiwang.certificates.staff_urls")),
    path("health/", include("yiwang.health.urls")),
    path("workbench/health/", include("yiwang.health.staff_urls")),
    path("", include("yiwang.applications.urls")),
    path("", include("yiwang.portal.urls")),
]

handler400 = "yiwang.portal.views.bad_request"
handler403 = "yiwang.portal.views.permission_denied"
handler404 = "yiwang.portal.views.page_not_found"
handler500 = "yiwang.portal.views.server_error"
