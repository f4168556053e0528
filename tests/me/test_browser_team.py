"""/me/team/ in Chromium at 390x844 under the self-only CSP: Marco accepted Lena's shift
on a schedule that needs approval; Ada, the team admin, follows the link on /me/ and
approves it; the shift is Marco's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schedules.models import SwapRequest
from schedules.selectors import oncall_engineer_ids
from schedules.swaps import swap_accept, swap_request
from tests.browser import BROWSER_MARKS, check_layout
from tests.factories import EngineerFactory, MembershipFactory
from tests.me.conftest import assert_clean, me_page

pytestmark = BROWSER_MARKS


def test_a_team_admin_approves_a_swap_on_a_phone(live_server, live_cast) -> None:
    cast = live_cast
    ada = EngineerFactory(user__username="ada", display_name="Ada", time_zone="Europe/Berlin")
    MembershipFactory(team=cast.schedule.team, engineer=ada, role="admin")
    cast.schedule.swaps_need_approval = True
    cast.schedule.save(update_fields=["swaps_need_approval"])
    start = datetime(2026, 11, 30, 9, tzinfo=UTC)
    swap = swap_request(
        schedule=cast.schedule,
        requester=cast.lena,
        teammate=cast.marco,
        start=start,
        end=start + timedelta(days=1),
        note="dentist",
    )
    swap = swap_accept(swap=swap, user=cast.marco.user)
    assert swap.status == "awaiting"
    with me_page(live_server, ada.user, "390x844") as page:
        page.goto(f"{live_server.url}/me/")
        assert "1 swap awaits your approval." in page.locator("#my-team").inner_text()
        page.get_by_role("link", name="Team shifts and approvals").click()
        page.wait_for_selector(f"#swap-{swap.pk}")
        check_layout(page, "me-team")
        page.get_by_role("button", name=f"Approve swap #{swap.pk}").click()
        page.wait_for_selector(".messages, [role=status], .outcome, .message")
        assert "Approved: the shifts change hands" in page.content()
        assert "Nothing awaits your approval." in page.content()
        check_layout(page, "me-team-approved")
        assert_clean(page)
    swap = SwapRequest.objects.get()
    assert swap.status == "accepted" and swap.decided_by == ada.user
    at = datetime(2026, 11, 30, 12, tzinfo=UTC)
    assert oncall_engineer_ids(schedule_id=cast.schedule.pk, at=at) == [cast.marco.pk]
