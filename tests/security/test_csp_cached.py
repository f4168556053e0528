"""oncall.security.csp: the settings' policy built once, the same header django-csp
writes; anything a response asks for itself still goes through django-csp."""

from __future__ import annotations

from csp.constants import NONCE, SELF
from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory, override_settings

from oncall.security.csp import CSPMiddleware

HEADER = "Content-Security-Policy"


def _through(middleware_class, view, path: str = "/me/") -> HttpResponse:
    middleware = middleware_class(view)
    request = RequestFactory().get(path)
    middleware.process_request(request)
    return middleware.process_response(request, view(request))


def _page(request: HttpRequest) -> HttpResponse:
    return HttpResponse("<p>hi</p>")


def test_a_plain_page_gets_the_header_django_csp_writes_every_time() -> None:
    ours = [_through(CSPMiddleware, _page)[HEADER] for _ in range(3)]
    theirs = _through(DjangoCSPMiddleware, _page)[HEADER]
    assert "default-src 'self'" in theirs and "frame-ancestors 'none'" in theirs
    assert sorted(ours[0].split("; ")) == sorted(theirs.split("; "))
    assert len(set(ours)) == 1


def test_a_changed_setting_is_the_next_responses_policy() -> None:
    before = _through(CSPMiddleware, _page)[HEADER]
    with override_settings(
        CONTENT_SECURITY_POLICY={"DIRECTIVES": {"default-src": ["'none'"]}},
        CONTENT_SECURITY_POLICY_REPORT_ONLY={"DIRECTIVES": {"img-src": ["'self'"]}},
    ):
        response = _through(CSPMiddleware, _page)
        assert response[HEADER] == "default-src 'none'"
        assert "img-src 'self'" in response["Content-Security-Policy-Report-Only"]
    after = _through(CSPMiddleware, _page)
    assert after[HEADER] == before and "Content-Security-Policy-Report-Only" not in after


def test_what_a_response_asks_for_goes_through_django_csp() -> None:
    def relaxed(request: HttpRequest) -> HttpResponse:
        response = HttpResponse("docs")
        response._csp_update = {"script-src": ["'unsafe-inline'"]}  # type: ignore[attr-defined]
        return response

    def exempt(request: HttpRequest) -> HttpResponse:
        response = HttpResponse("raw")
        response._csp_exempt = True  # type: ignore[attr-defined]
        return response

    def nonce(request: HttpRequest) -> HttpResponse:
        return HttpResponse(f"<script nonce='{request.csp_nonce}'></script>")  # type: ignore[attr-defined]

    assert "script-src 'self' 'unsafe-inline'" in _through(CSPMiddleware, relaxed)[HEADER]
    assert HEADER not in _through(CSPMiddleware, exempt)
    with override_settings(CONTENT_SECURITY_POLICY={"DIRECTIVES": {"script-src": [SELF, NONCE]}}):
        response = _through(CSPMiddleware, nonce)
        used = response.content.decode().split("nonce='")[1].split("'")[0]
        assert f"script-src 'self' 'nonce-{used}'" in response[HEADER].split("; ")
        assert "script-src 'self'" in _through(CSPMiddleware, _page)[HEADER].split("; ")
