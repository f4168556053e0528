"""iCal subscription feeds, mounted at the site root: /feeds/<secret token>.ics"""

from django.urls import path

from schedules import feed_views

urlpatterns = [
    path("feeds/<str:token>.ics", feed_views.feed, name="schedules-feed"),
]
