"""Admin smoke tests: pages render with inlines, search works, saves and actions use services."""

from __future__ import annotations

import pytest
from django.urls import reverse

from oncall.people.models import ContactMethod, Engineer, NotificationRule, Team
from paging.models import Message
from tests.factories import (
    ContactMethodFactory,
    EngineerFactory,
    MembershipFactory,
    NotificationRuleFactory,
    TeamFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def carol() -> Engineer:
    carol = EngineerFactory(user__username="carol", display_name="Carol Jones")
    MembershipFactory(engineer=carol, team=TeamFactory(name="Platform", slug="platform"))
    sms = ContactMethodFactory(engineer=carol, kind="sms", value="+14155550123")
    NotificationRuleFactory(engineer=carol, contact_method=sms, delay_minutes=1)
    return carol


def _inline_management_data(prefix: str, total: int = 0, initial: int = 0) -> dict[str, str]:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def test_engineer_change_page_renders_inlines(admin_client_, carol) -> None:
    response = admin_client_.get(reverse("admin:oncall_engineer_change", args=[carol.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "+14155550123" in html
    assert "contact_methods-TOTAL_FORMS" in html
    assert "notification_rules-TOTAL_FORMS" in html
    assert "memberships-TOTAL_FORMS" in html


def test_engineer_changelist_search_and_filters(admin_client_, carol) -> None:
    # Named in full: a random last name could be "Jones" and match the search.
    EngineerFactory(
        user__username="dave",
        user__first_name="Dave",
        user__last_name="Smith",
        display_name="Dave Smith",
    )
    url = reverse("admin:oncall_engineer_changelist")
    for query in ("carol", "Jones", "carol@example.test"):
        html = admin_client_.get(url, {"q": query}).content.decode()
        assert "Carol Jones" in html and "Dave Smith" not in html, query
    team = Team.objects.get(slug="platform")
    html = admin_client_.get(url, {"team": team.pk}).content.decode()
    assert "Carol Jones" in html and "Dave Smith" not in html
    assert admin_client_.get(url, {"time_zone": "UTC"}).status_code == 200


def test_other_admin_pages_render(admin_client_, carol) -> None:
    cm = carol.contact_methods.get()
    for name, args in [
        ("admin:oncall_team_changelist", []),
        ("admin:oncall_team_change", [Team.objects.get().pk]),
        ("admin:oncall_team_add", []),
        ("admin:oncall_engineer_add", []),
        ("admin:oncall_contactmethod_changelist", []),
        ("admin:oncall_contactmethod_change", [cm.pk]),
        ("admin:oncall_notificationrule_changelist", []),
        ("admin:oncall_verificationcode_changelist", []),
    ]:
        assert admin_client_.get(reverse(name, args=args)).status_code == 200, name
    listing = reverse("admin:oncall_contactmethod_changelist")
    for params in ({"kind": "sms"}, {"verified": "no"}, {"disabled": "yes"}):
        assert admin_client_.get(listing, params).status_code == 200


def test_add_engineer_creates_the_user_too(admin_client_) -> None:
    data = {
        "username": "erin",
        "display_name": "",
        "first_name": "Erin",
        "last_name": "Lee",
        "email": "erin@example.test",
        "time_zone": "Asia/Tokyo",
        **_inline_management_data("memberships"),
        **_inline_management_data("contact_methods", total=1),
        "contact_methods-0-kind": "sms",
        "contact_methods-0-value": "+81 90 1234 5678",
        "contact_methods-0-label": "mobile",
    }
    response = admin_client_.post(reverse("admin:oncall_engineer_add"), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    erin = Engineer.objects.get(user__username="erin")
    assert erin.display_name == "Erin Lee"
    assert erin.time_zone == "Asia/Tokyo"
    cm = erin.contact_methods.get()
    assert cm.value == "+819012345678" and cm.verified_at is None


def test_admin_rejects_bad_phone_with_a_form_error(admin_client_, carol) -> None:
    cm = carol.contact_methods.get()
    rule = carol.notification_rules.get()
    membership = carol.memberships.get()
    data = {
        "display_name": "Carol Jones",
        "time_zone": "UTC",
        **_inline_management_data("memberships", total=1, initial=1),
        "memberships-0-id": membership.pk,
        "memberships-0-engineer": carol.pk,
        "memberships-0-team": membership.team_id,
        "memberships-0-role": "member",
        **_inline_management_data("contact_methods", total=1, initial=1),
        "contact_methods-0-id": cm.pk,
        "contact_methods-0-engineer": carol.pk,
        "contact_methods-0-kind": "sms",
        "contact_methods-0-value": "not a phone",
        "contact_methods-0-label": "",
        **_inline_management_data("notification_rules", total=1, initial=1),
        "notification_rules-0-id": rule.pk,
        "notification_rules-0-engineer": carol.pk,
        "notification_rules-0-urgency": "high",
        "notification_rules-0-delay_minutes": "1",
        "notification_rules-0-contact_method": cm.pk,
    }
    url = reverse("admin:oncall_engineer_change", args=[carol.pk])
    response = admin_client_.post(url, data)
    assert response.status_code == 200
    assert "E.164" in response.content.decode()
    # A valid new number saves through the service: verification is cleared.
    data["contact_methods-0-value"] = "+1 415 555 0999"
    response = admin_client_.post(url, data)
    assert response.status_code == 302
    cm.refresh_from_db()
    assert cm.value == "+14155550999" and cm.verified_at is None


def test_send_verification_action_queues_a_code(admin_client_, carol) -> None:
    cm = ContactMethodFactory(engineer=carol, kind="email", verified_at=None)
    verified = carol.contact_methods.get(kind="sms")
    url = reverse("admin:oncall_contactmethod_changelist")
    response = admin_client_.post(
        url,
        {"action": "send_verification_code", "_selected_action": [cm.pk, verified.pk]},
        follow=True,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "sent to 1 contact method" in html
    assert "already verified" in html
    message = Message.objects.get()
    assert message.destination == cm.value and message.purpose == "verification"
    # Again at once: rate limited, says when to retry.
    response = admin_client_.post(
        url, {"action": "send_verification_code", "_selected_action": [cm.pk]}, follow=True
    )
    assert "try again in" in response.content.decode()
    assert Message.objects.count() == 1


def test_disable_action_and_rule_admin(admin_client_, carol) -> None:
    cm = carol.contact_methods.get()
    admin_client_.post(
        reverse("admin:oncall_contactmethod_changelist"),
        {"action": "disable_methods", "_selected_action": [cm.pk]},
    )
    cm.refresh_from_db()
    assert cm.disabled_at is not None and "root" in cm.disabled_reason
    other = ContactMethodFactory(kind="email")
    response = admin_client_.post(
        reverse("admin:oncall_notificationrule_add"),
        {"engineer": carol.pk, "contact_method": other.pk, "delay_minutes": 0, "urgency": "high"},
    )
    assert response.status_code == 200
    assert "another engineer" in response.content.decode()
    assert NotificationRule.objects.count() == 1
    assert ContactMethod.objects.count() == 2


def test_team_add_with_members_goes_through_services(admin_client_, carol) -> None:
    data = {
        "name": "Data Eng",
        "slug": "data-eng",
        "description": "",
        **_inline_management_data("memberships", total=1),
        "memberships-0-engineer": carol.pk,
        "memberships-0-role": "admin",
    }
    response = admin_client_.post(reverse("admin:oncall_team_add"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    team = Team.objects.get(slug="data-eng")
    assert list(team.memberships.values_list("engineer__user__username", "role")) == [
        ("carol", "admin")
    ]


def test_contact_method_verified_and_disabled_filters(admin_client_, carol) -> None:
    from django.utils import timezone

    verified = ContactMethod.objects.get(engineer=carol)  # the factory verifies phones
    unverified = ContactMethodFactory(
        engineer=carol, kind="sms", value="+14155550124", verified_at=None
    )
    disabled = ContactMethodFactory(
        engineer=carol,
        kind="sms",
        value="+14155550125",
        disabled_at=timezone.now(),
        disabled_reason="bounced",
    )
    url = reverse("admin:oncall_contactmethod_changelist")

    def listed(**params: str) -> set[str]:
        cl = admin_client_.get(url, params).context["cl"]
        return {cm.value for cm in cl.result_list}

    assert listed(verified="no") == {unverified.value}
    assert listed(verified="yes") == {verified.value, disabled.value}
    assert listed(disabled="yes") == {disabled.value}
    assert listed(disabled="no") == {verified.value, unverified.value}
    assert listed() == {verified.value, unverified.value, disabled.value}
