"""Map the services' Django exceptions to API answers, for every app's views."""

from __future__ import annotations

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.settings import api_settings


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The object is still in use."
    default_code = "conflict"


class ServiceErrorsMixin:
    """Services raise Django's exceptions: answer 400 naming the field, 403, or 409."""

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, DjangoValidationError):
            detail = as_serializer_error(exc)
            if NON_FIELD_ERRORS in detail:
                detail[api_settings.NON_FIELD_ERRORS_KEY] = detail.pop(NON_FIELD_ERRORS)
            exc = exceptions.ValidationError(detail)
        elif isinstance(exc, DjangoPermissionDenied):
            exc = exceptions.PermissionDenied(str(exc) or None)
        elif isinstance(exc, ProtectedError):
            names = sorted({str(obj) for obj in exc.protected_objects})[:5]
            exc = Conflict(f"still used by: {', '.join(names)}")
        return super().handle_exception(exc)  # type: ignore[misc]
