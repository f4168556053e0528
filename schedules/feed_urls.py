"""iCal subscription feeds."""

urlpatterns: list = []
