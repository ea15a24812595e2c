"""The HQ dashboard: each figure right, and linked to the list behind it."""
from datetime import timedelta

from partnernet.home import dashboard
from partnernet.tickets import daily, service
from tests import factories
from tests.test_tickets import NOW, certified_partner, open_ticket


def test_sla_attainment_counts_this_week_against_last_week(app):
    partner, engineer = certified_partner()
    admin = factories.user("partner_admin", party=partner)
    met = open_ticket()
    service.accept(met, admin, engineer.id, NOW + timedelta(minutes=1))
    weeks = dashboard.sla_weeks(dashboard.today_in_china(NOW))
    assert weeks[-1].response_met == 1 and weeks[-1].response == 1.0
    assert weeks[-2].response is None  # no targets settled last week


def test_resolved_per_day_splits_partners_and_hq(app):
    partner, engineer = certified_partner()
    admin = factories.user("partner_admin", party=partner)
    agent = factories.user("hq_agent")
    now = NOW + timedelta(minutes=1)
    by_partner = open_ticket()
    service.accept(by_partner, admin, engineer.id, now)
    service.change_status(by_partner, admin, "resolved", "修复", now)
    factories.certification(factories.engineer(factories.hq()), "mobile")
    by_hq = open_ticket(line="mobile")
    service.take_at_hq(by_hq, agent, now)
    service.change_status(by_hq, agent, "resolved", "总部处理", now)
    today = dashboard.resolved_per_day(dashboard.today_in_china(now))[-1]
    assert (today.by_partner, today.by_hq) == (1, 1)


def test_dashboard_figures_link_to_their_lists(client, login_as, app):
    open_ticket()  # nobody covers it: HQ queue
    login_as(factories.user("hq_manager"))
    page = client.get("/hq").get_data(as_text=True)
    assert 'data-testid="hq-queue">1<' in page
    for link in ('href="/tickets/queue"', 'href="/tickets/?status=open"', 'href="/certifications/review"',
                 'href="/certifications/?expiring=30"', 'href="/tickets/queue?cause=no_coverage"'):
        assert link in page, link
    assert 'data-chart="line"' in page and "echarts" in page
    assert client.get("/certifications/?expiring=30").status_code == 200


def test_every_dashboard_link_of_an_hq_agent_opens(client, login_as, app):
    """An agent sees the pending reviews as a figure, not as a link to a page it may not open."""
    import re
    login_as(factories.user("hq_agent"))
    page = client.get("/hq").get_data(as_text=True)
    assert 'data-testid="pending-reviews"' in page and 'href="/certifications/review"' not in page
    for link in set(re.findall(r'href="(/[^"#]*)"', page)) - {"/logout"}:
        assert client.get(link.replace("&amp;", "&"), follow_redirects=True).status_code == 200, link


def test_the_daily_counts_follow_every_event_as_it_is_written(app):
    """The trigger counts offers and answers per partner, SLA targets and resolutions per day, in
    the transaction that writes the event; the dashboard's push-back ranking reads them."""
    partner, engineer = certified_partner()
    admin = factories.user("partner_admin", party=partner)
    now = NOW + timedelta(minutes=1)
    declined = open_ticket()
    service.decline(declined, admin, "no_capacity", "满负荷", now)
    for _ in range(5):
        kept = open_ticket()
        service.accept(kept, admin, engineer.id, now)
        service.change_status(kept, admin, "resolved", "修复", now)
    assert daily.differences() == []
    counts = daily.offers_by_party(dashboard.today_in_china(now))[partner.id]
    assert counts == {"offered": 6, "accepted": 5, "declined": 1}
    [(measures, name)] = dashboard.top_push_back(dashboard.today_in_china(now))
    assert (measures.party_id, measures.offered, measures.push_back) == (partner.id, 6, 1)
    assert name == partner.name
    today = dashboard.resolved_per_day(dashboard.today_in_china(now))[-1]
    assert (today.by_partner, today.by_hq) == (5, 0)
    assert dashboard.sla_weeks(dashboard.today_in_china(now))[-1].response_met == 5


def test_the_sla_chart_names_each_week_by_its_days(client, login_as, app):
    login_as(factories.user("hq_manager", locale="en"))
    page = client.get("/hq").get_data(as_text=True)
    page = page[page.index('data-chart-target="sla-chart"'):]
    page = page[:page.index("</table>")]
    from babel.dates import format_interval

    from partnernet.timeclock import now_utc
    this_monday = dashboard.monday(dashboard.today_in_china(now_utc()))
    assert f"<td>{format_interval(this_monday, this_monday + timedelta(days=6), 'MMMd', locale='en')}</td>" in page
    assert f"<td>{this_monday.strftime('%m-%d')}</td>" not in page


def test_the_resolved_chart_names_each_day_in_the_readers_language(client, login_as, app):
    from partnernet.timeclock import now_utc
    today = dashboard.today_in_china(now_utc())
    login_as(factories.user("hq_manager"))
    page = client.get("/hq").get_data(as_text=True)
    assert f"<td>{today.month}月{today.day}日</td>" in page and f"<td>{today.strftime('%m-%d')}</td>" not in page
