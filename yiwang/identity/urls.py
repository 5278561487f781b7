from django.urls import path

from yiwang.identity import views

app_name = "identity"

urlpatterns = [
    path("register/", views.register, name="register"),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("verify/", views.verify_real_name, name="verify"),
    path("acting/", views.acting_switch, name="acting_switch"),
    path("organisations/new/", views.organisation_new, name="organisation_new"),
    path(
        "organisations/<int:organisation_id>/",
        views.organisation_detail,
        name="organisation_detail",
    ),
    path(
        "organisations/<int:organisation_id>/agents/<int:grant_id>/revoke/",
        views.organisation_agent_revoke_view,
        name="organisation_agent_revoke",
    ),
    path("staff/", views.staff_console, name="staff_console"),
    path("staff/in-person/", views.staff_in_person_verify, name="staff_in_person_verify"),
    path("staff/mfa/", views.staff_mfa, name="staff_mfa"),
    path("staff/mfa/<int:user_id>/reset/", views.staff_mfa_reset, name="staff_mfa_reset"),
    path("mfa/", views.mfa_verify, name="mfa_verify"),
    path("mfa/setup/", views.mfa_setup, name="mfa_setup"),
]
