from django.urls import path

from oncall.audit.api import AuditEntryList

urlpatterns = [
    path("audit/", AuditEntryList.as_view(), name="audit-list"),
    path("audit.csv", AuditEntryList.as_view(), {"format": "csv"}, name="audit-csv"),
]
