"""The one place that decides which rows a user may see.

Every query over partner-owned data goes through `scoped()`; fetching one object goes through
`get_or_404()`. HQ roles see everything; a partner's users see their own party's data; an
engineer sees the tickets assigned to them, their own record and their own certifications. Outside the scope is
indistinguishable from absent: 404. Of a ticket's history, a partner's users see what concerns no
partner or their own, never what another partner did with it before.
"""
import sqlalchemy as sa

from partnernet.audit.models import AuditFinding
from partnernet.auth.models import User
from partnernet.customers.models import Contract, Customer
from partnernet.errors import Forbidden, NotFound
from partnernet.extensions import db
from partnernet.network.models import Certification, Coverage, Engineer, Party
from partnernet.tickets.models import Ticket, TicketEvent

NOTHING = sa.false()


def _party_clause(model, user: User):
    if model is Party:
        return Party.id == user.party_id
    if model is Engineer and user.role == "engineer":
        return Engineer.id == user.engineer_id  # their own record, not their colleagues'
    if model in (Coverage, Engineer, AuditFinding):
        return model.party_id == user.party_id
    if model is Certification:
        if user.role == "engineer":
            return Certification.engineer_id == user.engineer_id
        return Certification.engineer_id.in_(
            sa.select(Engineer.id).where(Engineer.party_id == user.party_id))
    if model is Ticket:
        if user.role == "engineer":
            return Ticket.engineer_id == user.engineer_id
        return sa.or_(Ticket.owner_party_id == user.party_id, Ticket.offered_party_id == user.party_id)
    if model is TicketEvent:
        return sa.and_(TicketEvent.ticket_id.in_(sa.select(Ticket.id).where(_party_clause(Ticket, user))),
                       sa.or_(TicketEvent.party_id.is_(None), TicketEvent.party_id == user.party_id))
    if model is Customer:
        # A partner sees the customers behind the tickets it holds or is offered.
        return Customer.id.in_(sa.select(Ticket.customer_id).where(_party_clause(Ticket, user)))
    if model is Contract:
        return Contract.customer_id.in_(sa.select(Customer.id).where(_party_clause(Customer, user)))
    return NOTHING  # a model nobody declared a rule for is invisible to partners


def scope_clause(model, user: User):
    """The WHERE clause limiting `model` to what `user` may see."""
    if user.is_hq:
        return sa.true()
    if user.role == "engineer" and model in (Party, Coverage, AuditFinding):
        return NOTHING if model is not Party else Party.id == user.party_id
    return _party_clause(model, user)


def scoped(statement, model, user: User):
    return statement.where(scope_clause(model, user))


def get_or_404(model, ident, user: User):
    """One object by primary key, or NotFound when it is absent or outside the user's scope."""
    pk = list(sa.inspect(model).primary_key)[0]
    obj = db.session.execute(scoped(sa.select(model).where(pk == ident), model, user)).scalar_one_or_none()
    if obj is None:
        raise NotFound()
    return obj


def ticket_events(ticket_id: int, user: User) -> list[TicketEvent]:
    """A ticket's history, oldest first, as far as the user may see it (the ticket page and the API)."""
    return list(db.session.execute(scoped(
        sa.select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id),
        TicketEvent, user)).scalars())


def get_offer_or_404(ticket_id: int, user: User) -> Ticket:
    """A ticket whose offer the user's partner answers: one in scope, or one offered to the partner
    before and since moved on. The partner knew that ticket, so it learns only that the offer is
    gone (the service's 409), not where the ticket went. Any other ticket is NotFound."""
    offered_before = Ticket.id.in_(sa.select(TicketEvent.ticket_id).where(
        TicketEvent.kind == "offered", TicketEvent.party_id == user.party_id))
    ticket = db.session.execute(sa.select(Ticket).where(
        Ticket.id == ticket_id, sa.or_(scope_clause(Ticket, user), offered_before))).scalar_one_or_none()
    if ticket is None:
        raise NotFound()
    return ticket


def require_role(user: User, *roles: str) -> None:
    """Raise Forbidden unless the user has one of the roles (a role mismatch is 403, not 404)."""
    if user.role not in roles:
        raise Forbidden()
