"""The database itself keeps the data true: checks, uniques and foreign keys reject bad rows."""
from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from partnernet.extensions import db
from partnernet.network.models import Certification, Coverage, Party
from tests import factories


def rejected(statement_or_obj):
    """True when the database refuses the insert/update."""
    try:
        if isinstance(statement_or_obj, db.Model):
            db.session.add(statement_or_obj)
            db.session.flush()
        else:
            db.session.execute(statement_or_obj)
            db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return True
    db.session.rollback()
    return False


def test_certification_cannot_expire_before_it_is_issued(app):
    engineer = factories.engineer(factories.partner())
    cert = Certification(engineer_id=engineer.id, product_line_id=factories.product_line().id,
                         level="expert", number="X-1", issued_on=date(2026, 5, 1),
                         expires_on=date(2026, 4, 30), status="valid")
    assert rejected(cert)


def test_unknown_enumeration_values_are_rejected(app):
    assert rejected(Party(kind="reseller", name="错误类型", status="active"))
    assert rejected(Party(kind="agent", name="错误状态", status="sleeping"))
    partner = factories.partner()
    assert rejected(sa.update(Party).where(Party.id == partner.id).values(status="deleted"))


def test_only_one_hq_party_can_exist(app):
    assert rejected(Party(kind="hq", name="第二总部", status="active"))


def test_certificate_numbers_are_unique(app):
    engineer = factories.engineer(factories.partner())
    factories.certification(engineer, number="PN-1")
    with pytest.raises(IntegrityError):
        factories.certification(engineer, number="PN-1")


def test_coverage_must_point_at_a_real_region_and_end_after_it_starts(app):
    partner = factories.partner()
    assert rejected(Coverage(party_id=partner.id, region_code="999999", effective_from=date(2025, 1, 1)))
    assert rejected(Coverage(party_id=partner.id, region_code="330106", effective_from=date(2025, 1, 1),
                             effective_to=date(2024, 12, 31)))
    assert rejected(Coverage(party_id=partner.id, region_code="330106", effective_from=date(2025, 1, 1),
                             tier_l1=False, tier_l2=False, tier_l3=False))


def test_an_offered_ticket_names_partner_and_deadline(app):
    customer = factories.customer()
    assert rejected(factories.Ticket(customer_id=customer.id, region_code="330106",
                                     product_line_id=factories.product_line().id, complexity="simple",
                                     channel="web", tier="L1", subject="x", status="offered"))


def test_hq_queue_ticket_states_its_cause(app):
    customer = factories.customer()
    assert rejected(factories.Ticket(customer_id=customer.id, region_code="330106",
                                     product_line_id=factories.product_line().id, complexity="simple",
                                     channel="web", tier="L1", subject="x", status="hq_queue"))


def test_contract_value_must_be_positive(app):
    customer = factories.customer()
    with pytest.raises(IntegrityError):
        factories.contract(customer, value=0)


def test_engineer_user_needs_engineer_record_and_email_is_lowercase(app):
    with pytest.raises(IntegrityError):
        factories.user(role="engineer", party=factories.partner())
    db.session.rollback()
    with pytest.raises(IntegrityError):
        factories.user(email="Upper@Example.com")


def test_ticket_events_are_append_only(app):
    ticket = factories.ticket(factories.customer())
    event = factories.save(factories.TicketEvent(ticket_id=ticket.id, kind="created", to_status="new"))
    with pytest.raises(Exception, match="append-only"):
        db.session.execute(sa.text("UPDATE ticket_event SET note = 'rewritten' WHERE id = :id"), {"id": event.id})
    db.session.rollback()
    with pytest.raises(Exception, match="append-only"):
        db.session.execute(sa.text("DELETE FROM ticket_event WHERE id = :id"), {"id": event.id})
    db.session.rollback()
