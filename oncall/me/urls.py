from django.contrib.auth import views as auth_views
from django.urls import URLPattern, path, reverse_lazy

from oncall.me import (
    views,
    views_contact,
    views_signin_link,
    views_swap_link,
    views_swaps,
    views_team,
    views_time_off,
)
from oncall.me.auth_forms import LoginForm

app_name = "me"

# Django's own auth views with our templates; axes counts failed logins on them too.
urlpatterns: list[URLPattern] = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="me/auth/login.html",
            authentication_form=LoginForm,
            redirect_authenticated_user=True,
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("login/link/", views_signin_link.signin_link_request, name="signin-link"),
    path("login/link/<str:token>/", views_signin_link.signin_link_use, name="signin-link-use"),
    path(
        "password-reset/",
        auth_views.PasswordResetView.as_view(
            template_name="me/auth/password_reset.html",
            email_template_name="me/auth/password_reset_email.txt",
            subject_template_name="me/auth/password_reset_subject.txt",
            success_url=reverse_lazy("me:password_reset_done"),
        ),
        name="password_reset",
    ),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="me/auth/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="me/auth/password_reset_confirm.html",
            success_url=reverse_lazy("me:password_reset_complete"),
        ),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/done/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="me/auth/password_reset_complete.html"
        ),
        name="password_reset_complete",
    ),
    path("", views.home, name="home"),
    path(
        "incidents/<int:incident_id>/acknowledge/",
        views.incident_acknowledge_view,
        name="incident-acknowledge",
    ),
    path(
        "incidents/<int:incident_id>/resolve/", views.incident_resolve_view, name="incident-resolve"
    ),
    path("calendar/", views.calendar, name="calendar"),
    path("contact/", views_contact.contact, name="contact"),
    path("contact/add/", views_contact.method_add, name="method-add"),
    path("contact/push/", views_contact.push_subscribe, name="push-subscribe"),
    path(
        "contact/<int:method_id>/send-code/",
        views_contact.method_send_code,
        name="method-send-code",
    ),
    path("contact/<int:method_id>/verify/", views_contact.method_verify, name="method-verify"),
    path("contact/<int:method_id>/test/", views_contact.method_test, name="method-test"),
    path("swaps/", views_swaps.swaps, name="swaps"),
    path("swaps/l/<str:token>/", views_swap_link.swap_link, name="swap-link"),
    path("swaps/new/", views_swaps.swap_new, name="swap-new"),
    path("swaps/<int:swap_id>/<str:action>/", views_swaps.swap_decide, name="swap-decide"),
    path("team/", views_team.team, name="team"),
    path(
        "team/<str:kind>/<int:object_id>/<str:action>/",
        views_team.team_decide,
        name="team-decide",
    ),
    path("time-off/", views_time_off.time_off, name="time-off"),
    path("time-off/new/", views_time_off.time_off_new, name="time-off-new"),
    path(
        "time-off/<int:time_off_id>/cancel/",
        views_time_off.time_off_cancel,
        name="time-off-cancel",
    ),
    path("rules/add/", views_contact.rule_add, name="rule-add"),
    path("rules/<int:rule_id>/delete/", views_contact.rule_delete, name="rule-delete"),
    path("rules/<int:rule_id>/edit/", views_contact.rule_edit, name="rule-edit"),
    path("rules/<int:rule_id>/<str:direction>/", views_contact.rule_step, name="rule-step"),
    path("contact/<int:method_id>/edit/", views_contact.method_edit, name="method-edit"),
    path("contact/<int:method_id>/delete/", views_contact.method_delete, name="method-delete"),
]
