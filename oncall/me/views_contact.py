"""/me/contact/: my contact methods (add, edit, delete, verify by code, test page, page me
on this device by web push) and my notification ladders (add, edit, move up/down, remove
a rung). Each POST calls one service; a refusal re-renders the page with the reason on
the field, answered 400 (429 when it is a rate limit)."""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from oncall.me.access import engineer_required
from oncall.me.contact_selectors import my_ladders, my_methods
from oncall.me.forms import (
    ContactMethodForm,
    MethodEditForm,
    RuleForm,
    VerifyForm,
    errors_onto,
    method_name,
)
from oncall.people.models import ContactMethod, Engineer, NotificationRule
from oncall.people.services.directory import (
    contact_method_create,
    contact_method_delete,
    contact_method_update,
    notification_rule_create,
    notification_rule_delete,
    notification_rule_move,
    notification_rule_update,
)
from oncall.people.services.verification import (
    VerificationRateLimited,
    contact_method_send_verification,
    contact_method_verify,
)
from paging.channels.webpush.subscriptions import webpush_subscribe
from paging.channels.webpush.vapid import vapid_public_key
from paging.test_pages import TestPageRateLimited, contact_method_send_test


def _page(
    request: HttpRequest, engineer: Engineer, *, status: int = 200, **forms: object
) -> HttpResponse:
    """The page; a form that was refused is shown again in place of its blank one."""
    failed = forms.get("failed_for")
    failed_form = forms.get("failed_form")
    methods = [
        (row, failed_form if failed == ("m", row.method.pk) else _method_form(row.method))
        for row in my_methods(engineer=engineer)
    ]
    ladders = [
        (
            label,
            [
                (rung, failed_form if failed == ("r", rung.rule.pk) else _rule_form(rung.rule))
                for rung in rungs
            ],
        )
        for label, rungs in my_ladders(engineer=engineer)
    ]
    context = {
        "engineer": engineer,
        "methods": methods,
        "ladders": ladders,
        "add_form": forms.get("add_form") or ContactMethodForm(),
        "rule_form": forms.get("rule_form") or RuleForm(engineer=engineer),
        "verify_form": forms.get("verify_form") or VerifyForm(),
        "verify_for": forms.get("verify_for"),
        "problem": forms.get("problem"),
        "failed": failed,
        # The applicationServerKey browsers subscribe with ("": web push is off).
        "push_key": vapid_public_key(),
    }
    return render(request, "me/contact.html", context, status=status)


def _method_form(cm: ContactMethod, data: object = None) -> MethodEditForm:
    initial = {"value": cm.slack_email or cm.value, "label": cm.label}
    return MethodEditForm(data, initial=initial, prefix=f"m{cm.pk}")


def _rule_form(rule: NotificationRule, data: object = None) -> RuleForm:
    initial = {
        "urgency": rule.urgency,
        "contact_method": rule.contact_method_id,
        "delay_minutes": rule.delay_minutes,
    }
    return RuleForm(data, engineer=rule.engineer, initial=initial, prefix=f"r{rule.pk}")


def _my_method(engineer: Engineer, method_id: int) -> ContactMethod:
    cm = ContactMethod.objects.filter(pk=method_id, engineer=engineer).first()
    if cm is None:
        raise Http404("no such contact method of yours")
    return cm


def _my_rule(engineer: Engineer, rule_id: int) -> NotificationRule:
    rule = (
        NotificationRule.objects.filter(pk=rule_id, engineer=engineer)
        .select_related("contact_method")
        .first()
    )
    if rule is None:
        raise Http404("no such rule of yours")
    return rule


def _submit(
    request: HttpRequest,
    engineer: Engineer,
    form: forms.Form,
    save: Callable[[dict], str],
    **on_refusal: object,
) -> HttpResponse:
    """Valid input goes to the service (``save`` answers what to tell); a refusal, the
    form's or the service's, re-renders the page with the reasons on the fields (400)."""
    if form.is_valid():
        try:
            done = save(form.cleaned_data)
        except ValidationError as exc:
            errors_onto(form, exc)
        else:
            messages.info(request, done)
            return redirect("me:contact")
    return _page(request, engineer, status=400, **on_refusal)


@require_http_methods(["GET"])
@engineer_required
def contact(request: HttpRequest, engineer: Engineer) -> HttpResponse:
    return _page(request, engineer)


@require_POST
@engineer_required
def method_add(request: HttpRequest, engineer: Engineer) -> HttpResponse:
    def save(data: dict) -> str:
        cm = contact_method_create(engineer=engineer, **data)
        extra = " Send yourself a code to verify it." if cm.needs_verification else ""
        return f"Added {method_name(cm)}.{extra}"

    form = ContactMethodForm(request.POST)
    return _submit(request, engineer, form, save, add_form=form)


def _refused(request: HttpRequest, engineer: Engineer, cm: ContactMethod, exc: Exception):
    if isinstance(exc, ValidationError):
        reasons = "; ".join(m for ms in exc.message_dict.values() for m in ms)
        return _page(request, engineer, status=400, problem=f"{method_name(cm)}: {reasons}")
    response = _page(request, engineer, status=429, problem=f"{method_name(cm)}: {exc}")
    response["Retry-After"] = str(exc.retry_after)  # type: ignore[attr-defined]
    return response


def _send_through(
    request: HttpRequest,
    engineer: Engineer,
    method_id: int,
    send: Callable[..., object],
    limited: type[Exception],
    done: str,
) -> HttpResponse:
    """Send a code or a test page through one of my methods; say what happened."""
    cm = _my_method(engineer, method_id)
    try:
        send(contact_method=cm)
    except (ValidationError, limited) as exc:
        return _refused(request, engineer, cm, exc)
    messages.info(request, done.format(name=method_name(cm)))
    return redirect("me:contact")


PUSH_OUTCOMES = {
    "created": "Added {name}: pages now reach this browser. Send yourself a test page to see one.",
    "enabled": "{name} is enabled again: pages reach this browser.",
    "updated": "This browser was already subscribed: saved {name}.",
    "unchanged": "This browser is already subscribed as {name}.",
}


@require_POST
@engineer_required
def push_subscribe(request: HttpRequest, engineer: Engineer) -> HttpResponse:
    """The subscription the page's script got from the browser's push service (endpoint,
    keys p256dh and auth): a web-push contact method of mine."""
    try:
        done = webpush_subscribe(
            engineer=engineer,
            endpoint=request.POST.get("endpoint", ""),
            p256dh=request.POST.get("p256dh", ""),
            auth=request.POST.get("auth", ""),
            label=request.POST.get("label", ""),
            user_agent=request.headers.get("User-Agent", ""),
        )
    except ValidationError as exc:
        reasons = "; ".join(
            message if field == NON_FIELD_ERRORS else f"{field} {message}"
            for field, messages_ in exc.message_dict.items()
            for message in messages_
        )
        return _page(request, engineer, status=400, problem=f"Push subscription refused: {reasons}")
    name = method_name(done.contact_method)
    messages.info(request, PUSH_OUTCOMES[done.outcome].format(name=name))
    return redirect("me:contact")


@require_POST
@engineer_required
def method_send_code(request: HttpRequest, engineer: Engineer, method_id: int) -> HttpResponse:
    return _send_through(
        request,
        engineer,
        method_id,
        contact_method_send_verification,
        VerificationRateLimited,
        "A code is on its way to {name}; type it in below.",
    )


@require_POST
@engineer_required
def method_verify(request: HttpRequest, engineer: Engineer, method_id: int) -> HttpResponse:
    cm = _my_method(engineer, method_id)
    form = VerifyForm(request.POST)
    if form.is_valid():
        try:
            contact_method_verify(contact_method=cm, code=form.cleaned_data["code"])
        except ValidationError as exc:
            errors_onto(form, exc)
        else:
            messages.info(request, f"{method_name(cm)} is verified: it can be paged now.")
            return redirect("me:contact")
    return _page(request, engineer, status=400, verify_form=form, verify_for=cm.pk)


@require_POST
@engineer_required
def method_test(request: HttpRequest, engineer: Engineer, method_id: int) -> HttpResponse:
    return _send_through(
        request,
        engineer,
        method_id,
        contact_method_send_test,
        TestPageRateLimited,
        "Test page queued to {name}; reload to see how it went.",
    )


@require_POST
@engineer_required
def rule_add(request: HttpRequest, engineer: Engineer) -> HttpResponse:
    def save(data: dict) -> str:
        rule = notification_rule_create(engineer=engineer, **data)
        return f"Added to the {rule.get_urgency_display().lower()} ladder."

    form = RuleForm(request.POST, engineer=engineer)
    return _submit(request, engineer, form, save, rule_form=form)


@require_http_methods(["GET", "POST"])
@engineer_required
def rule_delete(request: HttpRequest, engineer: Engineer, rule_id: int) -> HttpResponse:
    """GET asks once; the POST removes the rung."""
    rule = _my_rule(engineer, rule_id)
    name = method_name(rule.contact_method)
    if request.method == "GET":
        return render(request, "me/rule_delete.html", {"rule": rule, "name": name})
    notification_rule_delete(rule=rule)
    messages.info(request, f"Removed {name} from the {rule.get_urgency_display().lower()} ladder.")
    return redirect("me:contact")


@require_POST
@engineer_required
def rule_edit(request: HttpRequest, engineer: Engineer, rule_id: int) -> HttpResponse:
    """Change a rung in place: its method, delay and urgency."""
    rule = _my_rule(engineer, rule_id)

    def save(data: dict) -> str:
        notification_rule_update(rule=rule, **data)
        when = f"after {rule.delay_minutes} min" if rule.delay_minutes else "at once"
        urgency = rule.get_urgency_display().lower()
        return f"Now {method_name(rule.contact_method)} {when} ({urgency} urgency)."

    form = _rule_form(rule, request.POST)
    return _submit(request, engineer, form, save, failed_form=form, failed_for=("r", rule.pk))


@require_POST
@engineer_required
def rule_step(
    request: HttpRequest, engineer: Engineer, rule_id: int, direction: str
) -> HttpResponse:
    """Move a rung one place up or down its ladder (the two rungs swap delays)."""
    rule = _my_rule(engineer, rule_id)
    name = method_name(rule.contact_method)
    try:
        other = notification_rule_move(rule=rule, direction=direction)
    except ValidationError as exc:
        reasons = "; ".join(m for ms in exc.message_dict.values() for m in ms)
        return _page(request, engineer, status=400, problem=f"{name}: {reasons}")
    if other is None:
        messages.info(
            request, f"{name} is already at the {'top' if direction == 'up' else 'bottom'}."
        )
    else:
        messages.info(request, f"{name} now after {rule.delay_minutes} min.")
    return redirect("me:contact")


@require_POST
@engineer_required
def method_edit(request: HttpRequest, engineer: Engineer, method_id: int) -> HttpResponse:
    """Change a method's label or value; a new value must be verified again."""
    cm = _my_method(engineer, method_id)
    old_value = cm.value

    def save(data: dict) -> str:
        contact_method_update(contact_method=cm, **data)
        again = (
            " Send yourself a code to verify the new value."
            if cm.value != old_value and cm.needs_verification
            else ""
        )
        return f"Saved {method_name(cm)}.{again}"

    form = _method_form(cm, request.POST)
    return _submit(request, engineer, form, save, failed_form=form, failed_for=("m", cm.pk))


@require_http_methods(["GET", "POST"])
@engineer_required
def method_delete(request: HttpRequest, engineer: Engineer, method_id: int) -> HttpResponse:
    """GET asks once (naming the rules that go with it); the POST deletes."""
    cm = _my_method(engineer, method_id)
    name = method_name(cm)
    if request.method == "GET":
        rules = cm.notification_rules.order_by("urgency", "delay_minutes")
        return render(request, "me/method_delete.html", {"name": name, "rules": rules})
    contact_method_delete(contact_method=cm)
    messages.info(request, f"Deleted {name} and its rules.")
    return redirect("me:contact")
