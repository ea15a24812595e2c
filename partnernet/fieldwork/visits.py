"""On-site visits: the window agreed with the customer, the engineer's check-in and check-out (on
the app's clock: one tap each, a double tap records once), the work done, the parts and the hours."""
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from flask_babel import gettext as _

from partnernet.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from partnernet.extensions import db
from partnernet.fieldwork.models import Visit
from partnernet.tickets.models import HELD_STATUSES, Ticket
from partnernet.tickets.service import add_event, changed_meanwhile, check_engineer, works_on
from partnernet.timeclock import CHINA, today_in_china
from partnernet.transitions import compare_and_set

LONGEST_WINDOW = timedelta(hours=24)
MAX_WORK_DONE = 5000
MAX_PARTS_USED = 2000


def serves_visits(ticket: Ticket, user) -> bool:
    """While a party holds the ticket, its users (its engineer on the ticket) plan and make the
    visits; HQ's users when HQ holds it."""
    if ticket.status not in HELD_STATUSES or ticket.owner is None:
        return False
    if user.is_hq:
        return ticket.owner.is_hq
    return works_on(ticket, user)


def may_tap(visit: Visit, user) -> bool:
    """Who checks in and out: the visit's engineer, or the holder's other users on their behalf."""
    return serves_visits(visit.ticket, user) and (user.role != "engineer" or visit.engineer_id == user.engineer_id)


def require_serving(ticket: Ticket, user) -> None:
    if not works_on(ticket, user):
        raise NotFound()
    if not serves_visits(ticket, user):
        raise InvalidTransition(_("Visits are planned and made by the party holding the ticket, while it is open."))


def lock_ticket(ticket: Ticket, now: datetime) -> None:
    """The ticket still held as the checks saw it, and locked until this step is recorded."""
    compare_and_set(ticket, {"status": ticket.status, "owner_party_id": ticket.owner_party_id},
                    {"updated_at": now}, changed_meanwhile())


def plan(ticket: Ticket, user, engineer_id: int | None, start: datetime | None, end: datetime | None,
         now: datetime) -> Visit:
    """Plan a visit in the window agreed with the customer, for one of the holder's certified engineers."""
    require_serving(ticket, user)
    if user.role == "engineer":
        engineer_id = user.engineer_id  # an engineer plans their own visits
    fields = {}
    if start is None:
        fields["planned_start"] = _("When does the visit start?")
    if end is None:
        fields["planned_end"] = _("When does it end?")
    elif start is not None and end <= start:
        fields["planned_end"] = _("The end must be after the start.")
    elif start is not None and end - start > LONGEST_WINDOW:
        fields["planned_end"] = _("A visit's window is at most 24 hours.")
    elif end <= now:
        fields["planned_end"] = _("This window is over already.")
    if fields:
        raise ValidationFailed(_("The visit cannot be planned like this."), fields)
    engineer = check_engineer(ticket, ticket.owner_party_id, engineer_id or ticket.engineer_id, today_in_china(now))
    lock_ticket(ticket, now)
    visit = Visit(ticket_id=ticket.id, party_id=ticket.owner_party_id, engineer_id=engineer.id, planned_start=start,
                  planned_end=end, planned_by_id=user.id, created_at=now, work_done="", parts_used="")
    db.session.add(visit)
    db.session.flush()
    add_event(ticket, "visit_planned", now, user, party_id=ticket.owner_party_id,
              data={"visit_id": visit.id, "engineer_id": engineer.id})
    db.session.commit()
    return visit


def require_tap(visit: Visit, user) -> Ticket:
    ticket = visit.ticket
    if not works_on(ticket, user):
        raise NotFound()
    if not may_tap(visit, user) or visit.party_id != ticket.owner_party_id:
        raise InvalidTransition(_("Only the visit's engineer, or their colleagues, check in and out while the "
                                  "ticket is open."))
    return ticket


def local_time(instant: datetime) -> str:
    return instant.astimezone(CHINA).strftime("%H:%M")


def check_in(visit: Visit, user, now: datetime) -> Visit:
    """The engineer is at the customer's: recorded once, at the app's time."""
    ticket = require_tap(visit, user)
    if visit.checked_in_at is not None:
        raise Conflict(_("Already checked in at %(time)s.", time=local_time(visit.checked_in_at)))
    elsewhere = open_visit_of(visit.engineer_id)
    if elsewhere is not None:
        raise Conflict(_("%(name)s is still checked in at ticket #%(id)d: check out there first.",
                         name=visit.engineer.name, id=elsewhere.ticket_id))
    lock_ticket(ticket, now)
    try:
        compare_and_set(visit, {"checked_in_at": None}, {"checked_in_at": now, "checked_in_by_id": user.id},
                        _("This visit was checked in meanwhile."))
        add_event(ticket, "visit_checked_in", now, user, party_id=visit.party_id,
                  data={"visit_id": visit.id, "engineer_id": visit.engineer_id})
        db.session.commit()
    except sa.exc.IntegrityError:
        # The engineer checked in at another visit at the same moment: the unique index decides.
        db.session.rollback()
        raise Conflict(_("This engineer is checked in at another visit.")) from None
    return visit


def check_out(visit: Visit, user, work_done: str, parts_used: str, hours, now: datetime) -> Visit:
    """The engineer leaves: the time (the app's), what was done, the parts and the hours."""
    ticket = require_tap(visit, user)
    if visit.checked_in_at is None:
        raise InvalidTransition(_("Check in before checking out."))
    if visit.checked_out_at is not None:
        raise Conflict(_("Already checked out at %(time)s.", time=local_time(visit.checked_out_at)))
    work_done, parts_used = (work_done or "").strip(), (parts_used or "").strip()
    fields = {}
    if not work_done:
        fields["work_done"] = _("Say what was done.")
    elif len(work_done) > MAX_WORK_DONE:
        fields["work_done"] = _("At most %(count)d characters.", count=MAX_WORK_DONE)
    if len(parts_used) > MAX_PARTS_USED:
        fields["parts_used"] = _("At most %(count)d characters.", count=MAX_PARTS_USED)
    hours = hours_given(hours, fields)
    if fields:
        raise ValidationFailed(_("The visit cannot be checked out like this."), fields)
    if now < visit.checked_in_at:
        raise InvalidTransition(_("The clock reads earlier than the check-in: try again in a moment."))
    lock_ticket(ticket, now)
    compare_and_set(visit, {"checked_in_at": visit.checked_in_at, "checked_out_at": None},
                    {"checked_out_at": now, "checked_out_by_id": user.id, "work_done": work_done,
                     "parts_used": parts_used, "hours": hours}, _("This visit was checked out meanwhile."))
    add_event(ticket, "visit_checked_out", now, user, party_id=visit.party_id, note=work_done,
              data={"visit_id": visit.id, "engineer_id": visit.engineer_id})
    db.session.commit()
    return visit


def hours_given(hours, fields: dict) -> Decimal | None:
    """Hours worked, 0 to 99 in tenths; none is fine (the time on site is recorded anyway)."""
    if hours is None or hours == "":
        return None
    try:
        value = Decimal(str(hours))
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or not Decimal(0) <= value <= Decimal(99) \
            or value != value.quantize(Decimal("0.1")):
        fields["hours"] = _("Hours from 0 to 99, in tenths.")
        return None
    return value


def open_visit_of(engineer_id: int) -> Visit | None:
    return db.session.execute(sa.select(Visit).where(
        Visit.engineer_id == engineer_id, Visit.checked_in_at.is_not(None), Visit.checked_out_at.is_(None))
    ).scalars().first()


def visits_of(ticket: Ticket) -> list[Visit]:
    return db.session.execute(sa.select(Visit).where(Visit.ticket_id == ticket.id)
                              .order_by(Visit.planned_start, Visit.id)).scalars().all()
