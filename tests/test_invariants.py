"""`flask check` finds what must never happen, and says nothing when all is well."""
from datetime import timedelta

import sqlalchemy as sa

from partnernet.extensions import db
from partnernet.invariants import check
from partnernet.tickets.models import Ticket
from tests.test_tickets import NOW, certified_partner, open_ticket


def test_a_healthy_database_passes(app):
    certified_partner()
    open_ticket()
    assert check(NOW).ok
    result = app.test_cli_runner().invoke(args=["check"])
    assert result.exit_code == 1  # the real clock is long past this test's offer deadline
    assert "offer live past its deadline" in result.output


def test_a_ticket_with_two_holders_is_reported(app):
    partner, _engineer = certified_partner()
    ticket = open_ticket()
    db.session.execute(sa.update(Ticket).where(Ticket.id == ticket.id).values(owner_party_id=partner.id))
    db.session.commit()
    report = check(NOW)
    assert report.violations["open ticket without exactly one holder"] == [ticket.id]
    assert report.violations["ticket state differs from its events"] == []


def test_a_status_changed_behind_the_events_back_is_reported(app):
    ticket = open_ticket()  # in the HQ queue: nobody covers it
    db.session.execute(sa.update(Ticket).where(Ticket.id == ticket.id).values(status="closed"))
    db.session.commit()
    assert check(NOW).violations["ticket state differs from its events"] == [ticket.id]


def test_an_offer_left_past_its_deadline_is_reported(app):
    certified_partner()
    ticket = open_ticket()
    assert check(NOW + timedelta(minutes=16)).ok
    assert check(NOW + timedelta(minutes=18)).violations["offer live past its deadline"] == [ticket.id]


def test_daily_counts_kept_apart_from_the_events_are_reported(app):
    certified_partner()
    ticket = open_ticket()  # offered: counted for the partner on today's row
    assert check(NOW).violations["daily counts differ from the events"] == []
    db.session.execute(sa.text("UPDATE offer_count_month SET count = count + 1 WHERE kind = 'offered'"))
    db.session.commit()
    assert check(NOW).violations["daily counts differ from the events"] == [ticket.id]
