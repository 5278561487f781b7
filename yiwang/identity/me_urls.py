"""The applications a person has let in, under /me/ beside the portal's "Me" page."""

from django.urls import path

from yiwang.identity import oidc_views

app_name = "identity_me"

urlpatterns = [
    path("authorised-apps/", oidc_views.authorised_apps, name="authorised_apps"),
    path(
        "authorised-apps/<int:consent_id>/revoke/",
        oidc_views.authorised_app_revoke,
        name="authorised_app_revoke",
    ),
]
