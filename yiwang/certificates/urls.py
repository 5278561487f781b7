"""The holder's wallet (我的证照), under /me/certificates/ beside the portal's "Me" page."""

from django.urls import path

from yiwang.certificates import views

app_name = "certificates"

urlpatterns = [
    path("", views.wallet, name="list"),
    path("<int:certificate_id>/", views.certificate_detail, name="detail"),
    path("<int:certificate_id>/pdf", views.certificate_download, name="pdf"),
    path("<int:certificate_id>/authorise/", views.certificate_authorise, name="authorise"),
    path(
        "authorisations/<int:authorisation_id>/revoke/",
        views.authorisation_revoke,
        name="authorisation_revoke",
    ),
]
