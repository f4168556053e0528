"""/me/login/link/: ask for a one-time sign-in link by e-mail, and use it (GET shows a
button, POST signs in: a mail scanner opening the link does not use it up)."""

from __future__ import annotations

from django import forms
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from oncall.me.signin_links import (
    SigninLinkExpired,
    SigninLinkRateLimited,
    SigninLinkRefused,
    signin_link_max_age,
    signin_link_read,
    signin_link_send,
)


class SigninLinkForm(forms.Form):
    email = forms.EmailField(max_length=254, label="Your e-mail address")


@require_POST
def signin_link_request(request: HttpRequest) -> HttpResponse:
    form = SigninLinkForm(request.POST)
    status, sent = 400, False
    if form.is_valid():
        try:
            signin_link_send(email=form.cleaned_data["email"])
        except SigninLinkRateLimited as exc:
            form.add_error("email", str(exc))
            status = 429
        else:
            status, sent = 200, True
    response = render(
        request,
        "me/auth/signin_link.html",
        {"form": form, "sent": sent, "minutes": signin_link_max_age() // 60},
        status=status,
    )
    if status == 429:
        response["Retry-After"] = str(signin_link_max_age())
    return response


@require_http_methods(["GET", "POST"])
def signin_link_use(request: HttpRequest, token: str) -> HttpResponse:
    try:
        user = signin_link_read(token)
    except SigninLinkRefused as exc:
        status = 410 if isinstance(exc, SigninLinkExpired) else 400
        return render(
            request, "me/auth/signin_link_refused.html", {"text": str(exc)}, status=status
        )
    if request.method == "GET":
        return render(request, "me/auth/signin_link_use.html", {"who": user.get_username()})
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return redirect("me:home")
