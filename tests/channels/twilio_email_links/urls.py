"""Only the delivery routes, mounted at the root exactly as oncall/urls.py mounts them,
so these tests do not depend on other apps' URL modules."""

from django.urls import include, path

urlpatterns = [path("", include("paging.channels.urls"))]
