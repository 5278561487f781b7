"""Venue codes (场所码) under /health/: my venues and their posters, the page a scanned
code opens (``/health/v/<code>/``, kept short for the QR code), and my check-ins."""

from django.urls import path

from yiwang.health import venue_views

urlpatterns = [
    path("venues/", venue_views.venue_list, name="venue_list"),
    path("venues/new/", venue_views.venue_new, name="venue_new"),
    path("venues/<int:venue_id>/close/", venue_views.venue_close, name="venue_close"),
    path("venues/<int:venue_id>/poster/", venue_views.venue_poster, name="venue_poster"),
    path("venues/<int:venue_id>/qr.<str:fmt>", venue_views.venue_qr, name="venue_qr"),
    path("venues/checkins/", venue_views.venue_checkins, name="venue_checkins"),
    path("v/<str:code>/", venue_views.venue_checkin, name="venue_checkin"),
]
