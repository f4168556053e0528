from django.urls import path
from rest_framework.routers import DefaultRouter

from schedules.api import views

router = DefaultRouter()
router.register("schedules", views.ScheduleViewSet, basename="schedule")
router.register("layers", views.LayerViewSet, basename="layer")
router.register("restrictions", views.RestrictionViewSet, basename="restriction")
router.register("overrides", views.OverrideViewSet, basename="override")
router.register("swaps", views.SwapViewSet, basename="swap")
router.register("time-off", views.TimeOffViewSet, basename="time-off")
router.register("holiday-calendars", views.HolidayCalendarViewSet, basename="holiday-calendar")

# Plain paths (not on a router): "engineers" belongs to the people directory's router,
# and these sub-paths do not clash with any of its routes.
urlpatterns = [
    path("engineers/<int:pk>/shifts/", views.EngineerShiftsView.as_view(), name="engineer-shifts"),
    path(
        "engineers/<int:pk>/feed-token/",
        views.EngineerFeedTokenView.as_view(),
        name="engineer-feed-token",
    ),
    path("oncall/", views.OncallView.as_view(), name="oncall-now"),
    *router.urls,
]
