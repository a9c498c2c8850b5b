from django.urls import path

from threshold.activity import views

urlpatterns = [
    path("activity/", views.recent_activity, name="recent_activity"),
    path("activity/<int:event_id>/", views.event_detail, name="activity_event"),
    path("activity/<int:event_id>/this-was-me/", views.this_was_me, name="activity_this_was_me"),
    path("activity/<int:event_id>/this-wasnt-me/", views.this_wasnt_me, name="activity_this_wasnt_me"),
    path("activity/<int:event_id>/secure/", views.secure_account, name="activity_secure"),
]
