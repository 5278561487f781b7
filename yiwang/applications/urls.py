from django.urls import path

from yiwang.applications import views

app_name = "applications"

urlpatterns = [
    path("applications/", views.application_list, name="list"),
    path("applications/new/<str:item_code>/", views.application_new, name="new"),
    path("applications/<int:application_id>/", views.application_detail, name="detail"),
    path("applications/<int:application_id>/edit/", views.application_edit, name="edit"),
    path("applications/<int:application_id>/delete/", views.application_delete, name="delete"),
    path(
        "applications/<int:application_id>/materials/",
        views.material_upload,
        name="material_upload",
    ),
    path(
        "applications/<int:application_id>/materials/<int:material_id>/",
        views.material_download,
        name="material_download",
    ),
    path(
        "applications/<int:application_id>/materials/<int:material_id>/remove/",
        views.material_remove,
        name="material_remove",
    ),
    path(
        "applications/<int:application_id>/materials/certificate/",
        views.material_certificate_use,
        name="material_certificate_use",
    ),
    path(
        "applications/<int:application_id>/resubmit/",
        views.application_resubmit,
        name="resubmit",
    ),
    path(
        "applications/<int:application_id>/withdraw/",
        views.application_withdraw,
        name="withdraw",
    ),
    path("bundles/<slug:code>/apply/", views.bundle_apply, name="bundle_apply"),
    path("bundles/<int:bundle_id>/", views.bundle_detail, name="bundle_detail"),
    path("bundles/<int:bundle_id>/withdraw/", views.bundle_withdraw, name="bundle_withdraw"),
    path(
        "bundles/invitations/<int:participant_id>/",
        views.bundle_invitation,
        name="bundle_invitation",
    ),
    path(
        "bundles/invitations/<int:participant_id>/confirm/",
        views.bundle_invitation_confirm,
        name="bundle_invitation_confirm",
    ),
    path(
        "bundles/invitations/<int:participant_id>/decline/",
        views.bundle_invitation_decline,
        name="bundle_invitation_decline",
    ),
    path("notifications/", views.notification_list, name="notifications"),
    path(
        "notifications/<int:notification_id>/read/",
        views.notification_read,
        name="notification_read",
    ),
    path("workbench/", views.workbench, name="workbench"),
    path("workbench/tasks/<int:task_id>/", views.task_detail, name="task"),
    path("workbench/tasks/<int:task_id>/claim/", views.task_claim, name="task_claim"),
    path("workbench/tasks/<int:task_id>/complete/", views.task_complete, name="task_complete"),
    path("workbench/tasks/<int:task_id>/assign/", views.task_assign, name="task_assign"),
    path(
        "workbench/applications/<int:application_id>/",
        views.staff_application,
        name="staff_application",
    ),
    path(
        "workbench/applications/<int:application_id>/data/",
        views.staff_data_read,
        name="staff_data_read",
    ),
    path(
        "workbench/applications/<int:application_id>/materials/<int:material_id>/",
        views.staff_material_download,
        name="staff_material_download",
    ),
]
