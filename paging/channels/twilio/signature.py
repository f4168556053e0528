"""Every Twilio webhook must carry a valid ``X-Twilio-Signature``.

The signature covers the URL Twilio requested, so it is checked against
``PUBLIC_BASE_URL`` + the request path and query (the public URL, not the one a proxy
forwarded to us) and the POSTed form fields. Missing or bad: 403, nothing runs.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator

from oncall.public_url import public_url


def twilio_request_valid(request: HttpRequest) -> bool:
    signature = request.headers.get("X-Twilio-Signature", "")
    token = settings.TWILIO_AUTH_TOKEN
    if not signature or not token:
        return False
    url = public_url(request.get_full_path())
    return RequestValidator(token).validate(url, request.POST, signature)


def twilio_signed(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @csrf_exempt
    @require_POST
    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if not twilio_request_valid(request):
            return HttpResponseForbidden("invalid or missing X-Twilio-Signature")
        return view(request, *args, **kwargs)

    return wrapper
