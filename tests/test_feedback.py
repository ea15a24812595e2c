"""The customer confirms or reopens a resolved ticket through its link, tickets nobody answered
close themselves, HQ calls a sample back."""
import threading
from datetime import date, datetime, timedelta, timezone
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from partnernet import create_app
from partnernet.errors import Conflict, NotFound, ValidationFailed
from partnernet.extensions import db
from partnernet.feedback import service as feedback
from partnernet.feedback.models import ConfirmationLink, CustomerFeedback
from partnernet.settings.service import save_settings
from partnernet.tickets import service as tickets
from partnernet.tickets.models import Ticket, TicketEvent
from partnernet.timeclock import now_utc
from tests import factories

pytestmark = pytest.mark.usefixtures("invariants")

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)  # 10:00 in China
DAY = timedelta(days=1)


def certified_partner():
    partner = factories.partner()
    factories.coverage(partner, "330106")
    engineer = factories.engineer(partner)
    factories.certification(engineer, "workflow", issued_on=date(2024, 1, 1), expires_on=date(2027, 12, 31))
    return partner, engineer


def resolved_ticket(now=NOW, partner=None, engineer=None, **customer_fields):
    """A ticket accepted by a partner and resolved by its admin at `now`."""
    if partner is None:
        partner, engineer = certified_partner()
    admin = factories.user("partner_admin", party=partner)
    customer = factories.customer(region_code="330106", **customer_fields)
    factories.contract(customer, starts_on=date(2026, 6, 1))
    ticket = tickets.intake(tickets.IntakeRequest(customer_id=customer.id, product_line="workflow", complexity="simple",
                                                  channel="phone", subject="审批流无法提交", tier="L2"), None, now)
    tickets.accept(ticket, admin, engineer.id, now)
    tickets.change_status(ticket, admin, "resolved", "重建了流程索引", now + timedelta(minutes=20))
    return ticket, admin


def kinds(ticket):
    return [e.kind for e in db.session.execute(
        sa.select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)).scalars()]


SOLVED = feedback.Answer(solved=True, rating=4, comment="很快")
NOT_SOLVED = feedback.Answer(solved=False, rating=2, comment="还是不行")


# --- the link ---------------------------------------------------------------------------------------

def test_solved_closes_the_ticket_and_records_the_answer_for_the_owner(app):
    ticket, admin = resolved_ticket()
    token, _link = feedback.issue_link(ticket, admin, NOW + DAY)
    link = feedback.find_link(ticket.id, token, NOW + 2 * DAY)
    feedback.answer(link, SOLVED, NOW + 2 * DAY)
    ticket = db.session.get(Ticket, ticket.id)
    assert (ticket.status, ticket.closed_at) == ("closed", NOW + 2 * DAY)
    assert kinds(ticket)[-1] == "status_changed"
    row = db.session.execute(sa.select(CustomerFeedback)).scalar_one()
    assert (row.source, row.solved, row.rating, row.party_id) == ("customer", True, 4, admin.party_id)


def test_not_solved_reopens_the_ticket_to_the_same_owner_and_engineer(app):
    ticket, admin = resolved_ticket()
    owner, engineer = ticket.owner_party_id, ticket.engineer_id
    token, _link = feedback.issue_link(ticket, admin, NOW + DAY)
    feedback.answer(feedback.find_link(ticket.id, token, NOW + DAY), NOT_SOLVED, NOW + DAY)
    ticket = db.session.get(Ticket, ticket.id)
    assert (ticket.status, ticket.owner_party_id, ticket.engineer_id) == ("in_progress", owner, engineer)
    assert kinds(ticket)[-1] == "reopened"
    # The resolution target was recorded once, when resolved; reopening keeps it as it was.
    assert kinds(ticket).count("resolution_met") + kinds(ticket).count("resolution_breached") == 1
    # The owner works it again and resolves it: one target still, and a new link can be issued.
    tickets.change_status(ticket, admin, "resolved", "换了服务器证书", NOW + 2 * DAY)
    assert kinds(ticket).count("resolution_met") + kinds(ticket).count("resolution_breached") == 1
    assert feedback.can_issue_link(ticket, admin)


def test_a_link_answers_once(app):
    ticket, admin = resolved_ticket()
    token, _link = feedback.issue_link(ticket, admin, NOW)
    link = feedback.find_link(ticket.id, token, NOW)
    feedback.answer(link, NOT_SOLVED, NOW)
    with pytest.raises(feedback.LinkGone):
        feedback.find_link(ticket.id, token, NOW)
    with pytest.raises(feedback.LinkGone):  # the page that was open before the first answer
        feedback.answer(link, SOLVED, NOW)
    assert db.session.execute(sa.select(sa.func.count(CustomerFeedback.id))).scalar() == 1
    assert db.session.get(Ticket, ticket.id).status == "in_progress"
    # Resolved again, the ticket waits for an answer once more: the used link still answers nothing.
    tickets.change_status(db.session.get(Ticket, ticket.id), admin, "resolved", "再次修复", NOW + DAY)
    with pytest.raises(feedback.LinkGone, match="already been answered"):
        feedback.find_link(ticket.id, token, NOW + DAY)
    with pytest.raises(feedback.LinkGone):
        feedback.answer(link, SOLVED, NOW + DAY)
    assert db.session.get(Ticket, ticket.id).status == "resolved"


def test_a_link_expires_after_14_days(app):
    ticket, admin = resolved_ticket()
    token, _link = feedback.issue_link(ticket, admin, NOW)
    assert feedback.find_link(ticket.id, token, NOW + 14 * DAY - timedelta(seconds=1))
    with pytest.raises(feedback.LinkGone, match="expired"):
        feedback.find_link(ticket.id, token, NOW + 14 * DAY)


def test_a_made_up_or_altered_token_is_refused(app):
    ticket, admin = resolved_ticket()
    token, _link = feedback.issue_link(ticket, admin, NOW)
    for guess in ("abc", token[:-1] + ("A" if token[-1] != "A" else "B"), token + "x"):
        with pytest.raises(NotFound):
            feedback.find_link(ticket.id, guess, NOW)
    # Signed right but never issued (only a token whose hash was stored answers).
    forged, _hash = feedback.mint(ticket.id)
    with pytest.raises(NotFound):
        feedback.find_link(ticket.id, forged, NOW)


def test_a_token_of_ticket_a_cannot_answer_ticket_b(app):
    partner, engineer = certified_partner()
    ticket_a, admin = resolved_ticket(partner=partner, engineer=engineer)
    ticket_b, _admin = resolved_ticket(partner=partner, engineer=engineer)
    token_a, _link = feedback.issue_link(ticket_a, admin, NOW)
    with pytest.raises(NotFound):
        feedback.find_link(ticket_b.id, token_a, NOW)


def test_the_link_is_stored_only_as_its_hash(app):
    ticket, admin = resolved_ticket()
    token, _link = feedback.issue_link(ticket, admin, NOW)
    stored = db.session.execute(sa.text("SELECT * FROM confirmation_link")).mappings().one()
    assert token not in " ".join(str(v) for v in stored.values())
    assert stored["token_hash"] == feedback.digest(token)


def test_a_new_link_invalidates_the_unanswered_one(app):
    ticket, admin = resolved_ticket()
    first, _link = feedback.issue_link(ticket, admin, NOW)
    second, _link = feedback.issue_link(ticket, admin, NOW + DAY)
    with pytest.raises(feedback.LinkGone, match="replaced"):
        feedback.find_link(ticket.id, first, NOW + DAY)
    assert feedback.find_link(ticket.id, second, NOW + DAY)


def test_only_the_owner_and_hq_get_a_link(app):
    ticket, _admin = resolved_ticket()
    other_partner, _engineer = certified_partner()
    with pytest.raises(NotFound):
        feedback.issue_link(ticket, factories.user("partner_admin", party=other_partner), NOW)
    assert feedback.issue_link(ticket, factories.user("hq_agent"), NOW)[0]


def test_an_answer_needs_a_rating_from_1_to_5(app):
    ticket, admin = resolved_ticket()
    token, _link = feedback.issue_link(ticket, admin, NOW)
    link = feedback.find_link(ticket.id, token, NOW)
    with pytest.raises(ValidationFailed):
        feedback.answer(link, feedback.Answer(solved=True, rating=6), NOW)
    assert db.session.get(Ticket, ticket.id).status == "resolved"
    assert db.session.get(ConfirmationLink, link.id).used_at is None


def test_two_answers_at_once_exactly_one_wins(app, database_url):
    ticket, admin = resolved_ticket()
    token, _link = feedback.issue_link(ticket, admin, NOW)
    ticket_id = ticket.id
    db.session.remove()
    worker = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True})
    results, barrier = [], threading.Barrier(6, timeout=30)

    def answer_once(solved):
        with worker.app_context():
            try:
                link = feedback.find_link(ticket_id, token, NOW)
                barrier.wait()
                feedback.answer(link, feedback.Answer(solved=solved, rating=3), NOW)
                results.append("won")
            except feedback.LinkGone:
                results.append("gone")
            except Exception as error:  # noqa: BLE001 — any other outcome fails the test, named
                results.append(f"{type(error).__name__}: {error}")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=answer_once, args=(n % 2 == 0,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["gone"] * 5 + ["won"], results
    assert db.session.execute(sa.select(sa.func.count(CustomerFeedback.id))).scalar() == 1
    answers = db.session.execute(sa.select(sa.func.count(TicketEvent.id)).where(
        TicketEvent.ticket_id == ticket_id, TicketEvent.from_status == "resolved")).scalar()
    assert answers == 1


# --- the pages ----------------------------------------------------------------------------------------

def test_the_customer_answers_on_the_page_without_signing_in(app, client):
    ticket, admin = resolved_ticket(now=now_utc() - DAY)
    token, _link = feedback.issue_link(ticket, admin, now_utc())
    page = client.get(f"/confirm/{ticket.id}/{token}")
    assert page.status_code == 200
    assert "审批流无法提交" in page.text and "重建了流程索引" in page.text
    answered = client.post(f"/confirm/{ticket.id}/{token}", data={"solved": "yes", "rating": "4", "comment": "好"})
    assert answered.status_code == 200
    assert db.session.get(Ticket, ticket.id).status == "closed"
    again = client.post(f"/confirm/{ticket.id}/{token}", data={"solved": "no", "rating": "1"})
    assert again.status_code == 410 and 'data-testid="link-gone"' in again.text
    assert db.session.get(Ticket, ticket.id).status == "closed"


def test_unknown_and_other_tickets_tokens_are_a_404_page(app, client):
    partner, engineer = certified_partner()
    ticket_a, admin = resolved_ticket(now=now_utc() - DAY, partner=partner, engineer=engineer)
    ticket_b, _admin = resolved_ticket(now=now_utc() - DAY, partner=partner, engineer=engineer)
    token_a, _link = feedback.issue_link(ticket_a, admin, now_utc())
    assert client.get(f"/confirm/{ticket_a.id}/made-up").status_code == 404
    refused = client.post(f"/confirm/{ticket_b.id}/{token_a}", data={"solved": "yes", "rating": "5"})
    assert refused.status_code == 404 and 'data-testid="link-gone"' in refused.text
    assert db.session.get(Ticket, ticket_b.id).status == "resolved"


def test_the_confirmation_page_is_rate_limited_with_a_readable_page(app, client):
    app.config["CONFIRMATION_RATE_LIMIT"] = "3 per minute"
    for _ in range(3):
        assert client.get("/confirm/1/guess").status_code == 404
    limited = client.get("/confirm/1/guess")
    assert limited.status_code == 429
    assert "<html" in limited.text and ("Too many requests" in limited.text or "请求过于频繁" in limited.text)


def test_the_owner_gets_a_link_to_copy_once_from_the_ticket_page(app, client, login_as):
    ticket, admin = resolved_ticket(now=now_utc() - DAY)
    login_as(admin)
    assert 'data-testid="get-link"' in client.get(f"/tickets/{ticket.id}").text
    shown = client.post(f"/tickets/{ticket.id}/confirmation-link")
    assert shown.status_code == 200
    link = db.session.execute(sa.select(ConfirmationLink)).scalar_one()
    url = shown.text.split('data-testid="confirmation-url"')[0].rsplit('value="', 1)[1].split('"')[0]
    token = url.rsplit("/", 1)[1]
    assert feedback.digest(token) == link.token_hash and f"/confirm/{ticket.id}/" in url
    assert token not in client.get(f"/tickets/{ticket.id}").text  # shown once, never again


# --- e-mail -------------------------------------------------------------------------------------------

def test_resolution_queues_an_email_whose_token_is_made_when_sent(app):
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=1, PUBLIC_URL="https://service.example.com")
    resolved_ticket(contact_email="it@customer.example.com")
    link = db.session.execute(sa.select(ConfirmationLink)).scalar_one()
    assert (link.email_to, link.email_status, link.token_hash) == ("it@customer.example.com", "pending", None)
    # Nothing listens on port 1: the attempt fails, the token made for it is forgotten, and it waits.
    assert feedback.send_link_emails(NOW + timedelta(hours=1)) == 0
    link = db.session.get(ConfirmationLink, link.id)
    assert (link.email_status, link.email_attempts, link.token_hash) == ("pending", 1, None)


def test_no_email_is_queued_without_smtp(app):
    resolved_ticket(contact_email="it@customer.example.com")
    assert db.session.execute(sa.select(sa.func.count(ConfirmationLink.id))).scalar() == 0


# --- closing what nobody answered -----------------------------------------------------------------

def test_a_ticket_nobody_answered_closes_14_days_after_it_was_resolved_once(app):
    from partnernet.scheduler import close_unanswered_job
    ticket, _admin = resolved_ticket()
    resolved_at = db.session.get(Ticket, ticket.id).resolved_at
    assert feedback.close_unanswered(resolved_at + 14 * DAY - timedelta(seconds=1)) == 0
    assert db.session.get(Ticket, ticket.id).status == "resolved"
    assert feedback.close_unanswered(resolved_at + 14 * DAY) == 1
    assert feedback.close_unanswered(resolved_at + 15 * DAY) == 0
    ticket = db.session.get(Ticket, ticket.id)
    assert (ticket.status, ticket.closed_at) == ("closed", resolved_at + 14 * DAY)
    closing = db.session.execute(sa.select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
                                 .order_by(TicketEvent.id.desc()).limit(1)).scalar_one()
    assert (closing.kind, closing.to_status, closing.reason_code) == ("status_changed", "closed", "no_answer_in_time")
    close_unanswered_job(app)  # the scheduler's job, on the app's clock: nothing left to close
    assert kinds(ticket).count("status_changed") == 2  # resolved, then closed once


def test_an_answered_ticket_is_not_closed_by_the_job(app):
    ticket, admin = resolved_ticket()
    token, _link = feedback.issue_link(ticket, admin, NOW)
    feedback.answer(feedback.find_link(ticket.id, token, NOW), NOT_SOLVED, NOW)
    assert feedback.close_unanswered(NOW + 30 * DAY) == 0
    assert db.session.get(Ticket, ticket.id).status == "in_progress"


# --- HQ's call-backs ------------------------------------------------------------------------------

def queue_ids(share):
    return list(db.session.execute(feedback.callback_queue_statement(share).with_only_columns(Ticket.id)).scalars())


def test_the_callback_queue_holds_billable_low_rated_and_the_share(app):
    partner, engineer = certified_partner()
    plain = [resolved_ticket(partner=partner, engineer=engineer)[0] for _ in range(3)]
    billable, admin = resolved_ticket(partner=partner, engineer=engineer)
    db.session.execute(sa.update(Ticket).where(Ticket.id == billable.id).values(billable=True))
    low, _admin = resolved_ticket(partner=partner, engineer=engineer)
    token, _link = feedback.issue_link(low, admin, NOW)
    feedback.answer(feedback.find_link(low.id, token, NOW), feedback.Answer(solved=True, rating=2), NOW)
    high, _admin = resolved_ticket(partner=partner, engineer=engineer)
    token, _link = feedback.issue_link(high, admin, NOW)
    feedback.answer(feedback.find_link(high.id, token, NOW), feedback.Answer(solved=True, rating=5), NOW)
    assert set(queue_ids(0)) == {billable.id, low.id}
    assert set(queue_ids(1)) == {t.id for t in plain} | {billable.id, low.id, high.id}
    sampled = {t.id for t in plain + [high] if feedback.in_sample(t.id, 0.5)}
    assert set(queue_ids(0.5)) == sampled | {billable.id, low.id}


def test_the_sample_is_stable_and_near_its_share():
    ids = range(1, 10_001)
    assert sum(feedback.in_sample(i, 0.1) for i in ids) == pytest.approx(1000, rel=0.1)
    assert [feedback.in_sample(i, 0.1) for i in ids] == [feedback.in_sample(i, 0.1) for i in ids]


def test_a_recorded_callback_leaves_the_queue_and_is_recorded_once(app):
    ticket, _admin = resolved_ticket()
    db.session.execute(sa.update(Ticket).where(Ticket.id == ticket.id).values(billable=True))
    db.session.commit()
    agent = factories.user("hq_agent")
    assert queue_ids(0) == [ticket.id]
    row = feedback.record_callback(ticket, agent, feedback.Answer(solved=True, rating=3, comment="回访满意"), NOW)
    assert (row.source, row.recorded_by_id, row.party_id) == ("callback", agent.id, ticket.owner_party_id)
    assert queue_ids(0) == []
    with pytest.raises(Conflict):
        feedback.record_callback(ticket, agent, feedback.Answer(solved=True, rating=3), NOW)


def test_the_callback_share_is_a_setting(app, client, login_as):
    admin = factories.user("hq_admin")
    save_settings({"callback_share": "0.25"}, admin.id, NOW)
    login_as(admin)
    assert 'value="25' in client.get("/settings/").text
    assert client.get("/callbacks").status_code == 200


def test_a_partner_sees_only_feedback_on_its_own_service(app):
    ticket, admin = resolved_ticket()
    token, _link = feedback.issue_link(ticket, admin, NOW)
    feedback.answer(feedback.find_link(ticket.id, token, NOW), SOLVED, NOW)
    other, _engineer = certified_partner()
    assert len(feedback.ticket_feedback(ticket, admin)) == 1
    assert feedback.ticket_feedback(ticket, factories.user("partner_admin", party=other)) == []
    assert len(feedback.ticket_feedback(ticket, factories.user("hq_agent"))) == 1


# --- the API --------------------------------------------------------------------------------------------

def bearer(user):
    from partnernet.auth import tokens
    _token, secret = tokens.issue_token(user, "test", now_utc())
    return {"Authorization": f"Bearer {secret}"}


def test_api_issues_a_link_once_and_answers_feedback_in_scope(app, client):
    ticket, admin = resolved_ticket(now=now_utc() - DAY)
    issued = client.post(f"/api/v1/tickets/{ticket.id}/confirmation-link", headers=bearer(admin))
    assert issued.status_code == 201
    url = issued.json["url"]
    assert client.post(urlsplit(url).path, data={"solved": "no", "rating": "2"}).status_code == 200
    assert db.session.get(Ticket, ticket.id).status == "in_progress"
    # Not resolved any more: no link (409); another partner: 404; the owner sees the answer.
    assert client.post(f"/api/v1/tickets/{ticket.id}/confirmation-link", headers=bearer(admin)).status_code == 409
    other, _engineer = certified_partner()
    stranger = factories.user("partner_admin", party=other)
    assert client.get(f"/api/v1/tickets/{ticket.id}/feedback", headers=bearer(stranger)).status_code == 404
    answers = client.get(f"/api/v1/tickets/{ticket.id}/feedback", headers=bearer(admin)).json["items"]
    assert [(a["source"], a["solved"], a["rating"]) for a in answers] == [("customer", False, 2)]


def test_api_callbacks_are_hq_only(app, client):
    ticket, admin = resolved_ticket()
    db.session.execute(sa.update(Ticket).where(Ticket.id == ticket.id).values(billable=True))
    db.session.commit()
    agent = factories.user("hq_agent")
    assert client.get("/api/v1/callbacks", headers=bearer(admin)).status_code == 403
    queue = client.get("/api/v1/callbacks", headers=bearer(agent)).json
    assert [(t["id"], t["reasons"]) for t in queue["items"]] == [(ticket.id, ["billable_ticket"])]
    assert client.post(f"/api/v1/tickets/{ticket.id}/callback", json={"solved": True, "rating": 9},
                       headers=bearer(agent)).status_code == 422
    recorded = client.post(f"/api/v1/tickets/{ticket.id}/callback", json={"solved": True, "rating": 4},
                           headers=bearer(agent))
    assert recorded.status_code == 201 and recorded.json["recorded_by_id"] == agent.id
    assert client.post(f"/api/v1/tickets/{ticket.id}/callback", json={"solved": True, "rating": 4},
                       headers=bearer(agent)).status_code == 409
    assert client.get("/api/v1/callbacks", headers=bearer(agent)).json["items"] == []
