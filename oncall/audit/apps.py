from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "oncall.audit"
    label = "audit"  # as before the move under oncall/: table audit_auditentry
    verbose_name = "Audit trail"
