"""`flask check` finds what must never happen, and says nothing when all is well."""
from datetime import timedelta

import sqlalchemy as sa

from partnernet.extensions import db
from partnernet.invariants import check
from partnernet.network import service as network
from partnernet.network.models import Party, PartyEvent
from partnernet.tickets import service
from partnernet.tickets.models import Ticket, TicketEvent
from tests import factories
from tests.test_tickets import NOW, certified_partner, open_ticket


def accepted_ticket():
    partner, engineer = certified_partner()
    ticket = open_ticket()
    service.accept(ticket, factories.user("partner_admin", party=partner), engineer.id, NOW + timedelta(minutes=1))
    return ticket


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


def add_events(ticket_id, *events):
    """Events written behind the services' back, as a lost race would have left them."""
    db.session.add_all(TicketEvent(ticket_id=ticket_id, at=NOW, **event) for event in events)
    db.session.commit()


def test_two_offers_by_hand_from_one_queued_ticket_are_reported(app):
    """What eight offers by hand at once used to leave: each an event from hq_queue, the ticket
    offered once. The holder and last-status checks see nothing wrong; the replay and the live
    offers do."""
    ticket = open_ticket()  # in the HQ queue: nobody covers it
    first, _engineer = certified_partner()
    second, _engineer = certified_partner()
    offer = {"kind": "offered", "from_status": "hq_queue", "to_status": "offered"}
    add_events(ticket.id, {**offer, "party_id": first.id}, {**offer, "party_id": second.id})
    db.session.execute(sa.update(Ticket).where(Ticket.id == ticket.id).values(
        status="offered", offered_party_id=second.id, offer_deadline=NOW + timedelta(minutes=15), hq_queue_cause=None))
    db.session.commit()
    report = check(NOW)
    assert report.violations["ticket's events do not replay"] == [ticket.id]
    assert report.violations["more than one live offer"] == [ticket.id]
    assert report.violations["open ticket without exactly one holder"] == []
    assert report.violations["ticket state differs from its events"] == []


def test_two_status_changes_from_one_state_are_reported(app):
    """Two steps from `accepted` at once: both events start from accepted, the second does not
    start where the first ended."""
    ticket = accepted_ticket()
    step = {"kind": "status_changed", "from_status": "accepted", "to_status": "in_progress"}
    add_events(ticket.id, step, step)
    db.session.execute(sa.update(Ticket).where(Ticket.id == ticket.id).values(status="in_progress"))
    db.session.commit()
    report = check(NOW)
    assert report.violations["ticket's events do not replay"] == [ticket.id]
    assert report.violations["ticket state differs from its events"] == []
    assert report.violations["more than one live offer"] == []


def test_a_return_to_hq_replays(app):
    """The queue's event after a return names where the return started, as it always has."""
    ticket = accepted_ticket()
    admin = factories.user("partner_admin", party=ticket.owner)
    service.return_to_hq(ticket, admin, "beyond_our_skills", "需总部开发", NOW + timedelta(minutes=3))
    assert check(NOW).ok


def test_an_offer_never_answered_is_reported_once_the_ticket_moved_on(app):
    partner, _engineer = certified_partner()
    ticket = open_ticket()
    assert check(NOW).violations["more than one live offer"] == []
    add_events(ticket.id, {"kind": "offered", "party_id": partner.id})  # an offer nobody answered
    assert check(NOW).violations["more than one live offer"] == [ticket.id]


def test_a_partner_status_behind_its_history_is_reported(app):
    partner = factories.partner(status="onboarding")
    network.change_status(partner, "active", "签约完成", None, NOW)
    assert check(NOW).violations["partner status differs from its history"] == []
    db.session.execute(sa.update(Party).where(Party.id == partner.id).values(status="suspended"))
    db.session.commit()
    report = check(NOW)
    assert report.violations["partner status differs from its history"] == [partner.id]
    assert f"partner status differs from its history: partners {partner.id}" in report.lines()


def test_two_partner_status_changes_from_one_status_are_reported(app):
    partner = factories.partner(status="active")
    for to_status in ("probation", "suspended"):
        db.session.add(PartyEvent(party_id=partner.id, at=NOW, kind="status_changed", from_status="active",
                                  to_status=to_status, reason="同时操作"))
    partner.status = "suspended"
    db.session.commit()
    assert check(NOW).violations["partner status differs from its history"] == [partner.id]
