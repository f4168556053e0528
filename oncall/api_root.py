"""One browsable root for /api/v1/, listing the routes of every app's router.

Each app keeps its own router (and URL module); without this, the first app's
root view would shadow the others and list only its own resources.
"""

from __future__ import annotations

from rest_framework.routers import DefaultRouter

from oncall.people.api.urls import router as people_router
from paging.api.urls import router as paging_router
from schedules.api.urls import router as schedules_router

_combined = DefaultRouter()
for _router in (people_router, schedules_router, paging_router):
    _combined.registry.extend(_router.registry)

api_root = _combined.get_api_root_view()
