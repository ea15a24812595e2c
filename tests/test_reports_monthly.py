"""Each partner's monthly SLA results: the tickets it served in a calendar month in China, with
their response and resolution targets met or breached as the events recorded them, per tier."""
from datetime import date, datetime, timedelta, timezone

import pytest

from partnernet.extensions import db
from partnernet.reports.monthly import sla_results
from partnernet.tickets.models import TicketEvent
from tests import factories

UTC = timezone.utc
NOVEMBER = date(2026, 11, 1)
IN_NOVEMBER = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)


def served_ticket(party, resolved_at=IN_NOVEMBER, tier="L1", response="met", resolution="met", status="closed",
                  customer=None, **fields):
    """A ticket `party` served, resolved at `resolved_at`, its targets settled as the clocks record
    them (one event per target; None: not settled)."""
    opened = resolved_at - timedelta(hours=3)
    ticket = factories.ticket(customer or factories.customer(), owner_party_id=party.id, tier=tier, status=status,
                              created_at=opened, responded_at=opened + timedelta(minutes=10),
                              response_due_at=opened + timedelta(minutes=30), resolved_at=resolved_at,
                              resolution_due_at=opened + timedelta(hours=8), **fields)
    for target, outcome in (("response", response), ("resolution", resolution)):
        if outcome:
            db.session.add(TicketEvent(ticket_id=ticket.id, kind=f"{target}_{outcome}", at=resolved_at))
    db.session.commit()
    return ticket


def test_a_partners_month_counts_its_served_tickets_and_their_targets_per_tier(app):
    partner = factories.partner()
    served_ticket(partner, tier="L1")
    served_ticket(partner, tier="L1", response="breached", resolution="breached")
    served_ticket(partner, tier="L3", resolution="breached")

    results = sla_results(partner.id, NOVEMBER)

    (row,) = results.partners
    assert (row.party_id, row.served, row.response_met, row.response_breached) == (partner.id, 3, 2, 1)
    assert (row.resolution_met, row.resolution_breached) == (1, 2)
    assert row.response_rate == pytest.approx(2 / 3) and row.resolution_rate == pytest.approx(1 / 3)
    assert list(row.by_tier) == ["L1", "L3"]
    assert (row.by_tier["L1"].served, row.by_tier["L1"].response_breached) == (2, 1)
    assert (row.by_tier["L3"].served, row.by_tier["L3"].resolution_met) == (1, 0)
    assert results.total.served == 3 and not results.empty


def test_the_month_is_a_calendar_month_in_china(app):
    partner = factories.partner()
    # 31 Oct 16:30 UTC is 1 Nov 00:30 in China: November's. 30 Nov 16:30 UTC is 1 Dec in China.
    served_ticket(partner, resolved_at=datetime(2026, 10, 31, 16, 30, tzinfo=UTC))
    served_ticket(partner, resolved_at=datetime(2026, 11, 30, 16, 30, tzinfo=UTC))
    served_ticket(partner, resolved_at=datetime(2026, 10, 31, 15, 30, tzinfo=UTC))  # 31 Oct 23:30 in China

    assert sla_results(partner.id, NOVEMBER).total.served == 1
    assert sla_results(partner.id, date(2026, 12, 1)).total.served == 1
    assert sla_results(partner.id, date(2026, 10, 17)).total.served == 1  # any day names its month


def test_unresolved_reopened_and_other_parties_tickets_are_not_a_partners_served(app):
    partner, other = factories.partner(), factories.partner()
    served_ticket(partner)
    served_ticket(partner, status="in_progress")  # reopened by the customer: at work again
    served_ticket(other)
    served_ticket(factories.hq())  # HQ's own service is no partner's

    assert sla_results(partner.id, NOVEMBER).total.served == 1
    every = sla_results(None, NOVEMBER)
    assert {row.party_id for row in every.partners} == {partner.id, other.id}
    assert every.total.served == 2


def test_a_target_not_yet_settled_counts_as_neither_met_nor_breached(app):
    partner = factories.partner()
    served_ticket(partner, response=None, resolution=None)
    (row,) = sla_results(partner.id, NOVEMBER).partners
    assert row.served == 1 and row.response_met + row.response_breached == 0
    assert row.response_rate is None


def test_a_month_without_tickets_is_an_empty_result_not_an_error(app):
    partner = factories.partner()
    results = sla_results(partner.id, NOVEMBER)
    assert results.empty and results.partners == [] and results.total.served == 0
    assert sla_results(None, NOVEMBER).empty
