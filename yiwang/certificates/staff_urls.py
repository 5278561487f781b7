"""Staff: certificates their holders have shared with the staff member's departments."""

from django.urls import path

from yiwang.certificates import views

app_name = "certificates_staff"

urlpatterns = [
    path("", views.staff_list, name="list"),
    path("<int:authorisation_id>/read/", views.staff_read, name="read"),
]
