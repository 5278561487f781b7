"""A citizen's view of the exchange, under /me/ beside the portal's "Me" page."""

from django.urls import path

from yiwang.exchange import views

app_name = "exchange_me"

urlpatterns = [
    path("data-uses/", views.data_use_list, name="data_uses"),
    path("consents/", views.consent_list, name="consents"),
    path("consents/<int:consent_id>/revoke/", views.consent_revoke, name="consent_revoke"),
]
