"""Ticket pages: intake, the list, one ticket with its route explanation and actions, the HQ queue.
Views parse and check roles; every rule, down to which actions a ticket's page offers, is in
tickets.service."""
import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from partnernet.auth.models import HQ_ROLES
from partnernet.collation import sorted_by_name
from partnernet.customers.models import Customer
from partnernet.db_types import MAX_ID
from partnernet.errors import DomainError
from partnernet.extensions import db
from partnernet.labels import choices, product_line_choices
from partnernet.network.models import PARTNER_KINDS, Engineer, Party
from partnernet.network.service import active_product_lines
from partnernet.regions import service as regions
from partnernet.scope import get_or_404, require_role, scoped
from partnernet.tickets import service
from partnernet.tickets.forms import (AcceptForm, DeclineForm, EscalateForm, IntakeForm, OfferByHandForm,
                                      ReassignForm, ReturnForm, StatusForm)
from partnernet.tickets.models import HQ_QUEUE_CAUSES, TICKET_STATUSES, Ticket
from partnernet.tickets.queries import TicketFilters, get_offer_or_404, list_page, ticket_events, ticket_list_statement
from partnernet.timeclock import now_utc, today_in_china
from partnernet.web import first_page_instead, page_cursors, posted_id, query_id, show_errors

bp = Blueprint("tickets", __name__, url_prefix="/tickets")


@bp.get("/")
@login_required
def index():
    if "page" in request.args:
        return first_page_instead("tickets.index")
    filters = TicketFilters.from_args(request.args)
    page = list_page(ticket_list_statement(current_user, filters, now_utc()), filters, *page_cursors())
    return render_template("tickets/index.html", page=page, filters=filters, statuses=TICKET_STATUSES,
                           product_lines=active_product_lines(), now=now_utc())


@bp.get("/queue")
@login_required
def queue():
    require_role(current_user, *HQ_ROLES)
    if "page" in request.args:
        return first_page_instead("tickets.queue")
    cause = request.args.get("cause", "")
    filters = TicketFilters(status="hq_queue", sort="created", descending=False)  # the longest waiting first
    statement = ticket_list_statement(current_user, filters, now_utc())
    if cause in HQ_QUEUE_CAUSES:
        statement = statement.where(Ticket.hq_queue_cause == cause)
    page = list_page(statement, filters, *page_cursors())
    counts = dict(db.session.execute(
        db.select(Ticket.hq_queue_cause, db.func.count()).where(Ticket.status == "hq_queue")
        .group_by(Ticket.hq_queue_cause)).all())
    return render_template("tickets/queue.html", page=page, counts=counts, causes=HQ_QUEUE_CAUSES, cause=cause,
                           now=now_utc())


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    require_role(current_user, *HQ_ROLES)
    form = IntakeForm()
    form.product_line.choices = product_line_choices(active_product_lines())
    if form.validate_on_submit():
        try:
            ticket = service.intake(service.IntakeRequest(
                customer_id=form.customer_id.data, product_line=form.product_line.data,
                complexity=form.complexity.data, channel=form.channel.data, subject=form.subject.data,
                description=form.description.data, tier=form.tier.data or None,
                region_code=form.region_code.data or None), current_user, now_utc())
        except DomainError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            flash(_("Ticket #%(id)d opened.", id=ticket.id), "success")
            return redirect(url_for("tickets.detail", ticket_id=ticket.id))
    # The customer chosen (after a refused form, or from a customer's page: ?customer=ID), named
    # in the search box.
    chosen_id = form.customer_id.data if request.method == "POST" else query_id("customer")
    chosen = db.session.execute(scoped(sa.select(Customer).where(Customer.id == chosen_id), Customer, current_user)
                                ).scalar_one_or_none() if chosen_id and 0 < chosen_id <= MAX_ID else None
    if chosen is not None:
        form.customer_id.data = chosen.id
    return render_template("tickets/new.html", form=form, product_lines=active_product_lines(), chosen=chosen,
                           chosen_region=regions.chosen(form.region_code.data))


def own_certified_engineers(ticket: Ticket, party_id: int):
    """The engineers a partner may choose, in the reader's order (a short list: sorted here)."""
    return sorted_by_name(service.certified_engineers_for(ticket, party_id, today_in_china()))


@bp.get("/<int:ticket_id>")
@login_required
def detail(ticket_id):
    ticket = get_or_404(Ticket, ticket_id, current_user)
    service.mark_offer_seen(ticket, current_user, now_utc())
    return render_ticket(ticket)


def render_ticket(ticket: Ticket, status=200, escalation=None, **forms):
    """The ticket's page; `escalation`: the preview of an escalation to confirm (escalate_form)."""
    user = current_user
    offered_to_us = user.role == "partner_admin" and service.is_offered_to(ticket, user)
    accept_form = forms.get("accept_form") or AcceptForm()
    if offered_to_us:
        accept_form.engineer_id.choices = [(e.id, e.name) for e in own_certified_engineers(ticket, user.party_id)]
    status_form = forms.get("status_form") or StatusForm()
    status_form.status.choices = choices(service.WORK_TRANSITIONS.get(ticket.status, ())) \
        if service.works_on(ticket, user) else []
    reassign_form = forms.get("reassign_form") or ReassignForm()
    if ticket.owner_party_id and service.can_reassign(ticket, user):
        reassign_form.engineer_id.choices = [(e.id, e.name) for e in own_certified_engineers(ticket, ticket.owner_party_id)]
    events = ticket_events(ticket.id, user)
    parties = {}
    if user.is_hq:
        ids = {e.party_id for e in events if e.party_id}
        parties = {p.id: p for p in db.session.execute(db.select(Party).where(Party.id.in_(ids))).scalars()} if ids else {}
    engineers = {e.id: e for e in db.session.execute(db.select(Engineer).where(Engineer.id.in_(
        {(e.data or {}).get("engineer_id") for e in events if e.data and e.data.get("engineer_id")} or {0}))).scalars()}
    return render_template(
        "tickets/detail.html", ticket=ticket, events=events, parties=parties, engineers=engineers,
        offered_to_us=offered_to_us, accept_form=accept_form,
        decline_form=forms.get("decline_form") or DeclineForm(),
        status_form=status_form, reassign_form=reassign_form,
        return_form=forms.get("return_form") or ReturnForm(),
        offer_form=forms.get("offer_form") or OfferByHandForm(),
        can_return=service.can_return(ticket, user),
        escalate_form=escalate_form(ticket, forms.get("escalate_form")), escalation=escalation,
        billable_warning=service.billable_warning,
        sees_contacts=service.sees_customer_contacts(ticket, user),
        now=now_utc(), today=today_in_china(), kinds=PARTNER_KINDS), status


def escalate_form(ticket: Ticket, form: EscalateForm | None = None) -> EscalateForm | None:
    """The escalation form for the ticket's holder (the tiers above the ticket's), else None."""
    if not service.can_escalate(ticket, current_user):
        return None
    form = form or EscalateForm(formdata=None)
    form.tier.choices = choices(service.higher_tiers(ticket))
    return form


def act(ticket_id, action, success_message, form_name=None, form=None, answering_offer=False, validate=True,
        field_names=None):
    """Run one service action for the ticket page; errors come back on the same page, in the form
    as it was filled in. An answer to an offer also finds a ticket once offered to the user's
    partner and since moved on, so that a late answer is told so (409) rather than shown a 404.
    `validate=False`: the form's only field is checked by the service (a choice of engineer)."""
    ticket = get_offer_or_404(ticket_id, current_user) if answering_offer \
        else get_or_404(Ticket, ticket_id, current_user)
    if validate and form is not None and not form.validate_on_submit():  # a note too long, a required note missing
        return render_ticket(ticket, status=422, **{form_name: form})
    try:
        action(ticket)
    except DomainError as error:
        db.session.rollback()
        if error.status == 409:
            flash(error.message, "danger")
            return back_to(ticket_id)
        show_errors(form, error, field_names)
        ticket = get_or_404(Ticket, ticket_id, current_user)
        extra = {form_name: form} if form_name else {}
        return render_ticket(ticket, status=error.status, **extra)
    flash(success_message, "success")
    return back_to(ticket_id)


def back_to(ticket_id):
    """To the ticket's page while the user may still see it; else (declined, returned, moved on) to
    the list of their tickets."""
    visible = db.session.execute(scoped(sa.select(Ticket.id).where(Ticket.id == ticket_id), Ticket, current_user)).first()
    return redirect(url_for("tickets.detail", ticket_id=ticket_id) if visible else url_for("tickets.index"))


@bp.post("/<int:ticket_id>/accept")
@login_required
def accept(ticket_id):
    require_role(current_user, "partner_admin")
    engineer_id = posted_id("engineer_id")
    return act(ticket_id, lambda t: service.accept(t, current_user, engineer_id, now_utc()),
               _("Accepted. The ticket is yours."), "accept_form", AcceptForm(), answering_offer=True, validate=False)


@bp.post("/<int:ticket_id>/decline")
@login_required
def decline(ticket_id):
    require_role(current_user, "partner_admin")
    form = DeclineForm()
    return act(ticket_id, lambda t: service.decline(t, current_user, form.reason_code.data, form.note.data, now_utc()),
               _("Declined. The ticket has moved on."), "decline_form", form, answering_offer=True)


@bp.post("/<int:ticket_id>/status")
@login_required
def change_status(ticket_id):
    form = StatusForm()
    return act(ticket_id, lambda t: service.change_status(t, current_user, request.form.get("status", ""),
                                                          form.note.data, now_utc()),
               _("Ticket updated."), "status_form", form)


@bp.post("/<int:ticket_id>/reassign")
@login_required
def reassign(ticket_id):
    engineer_id = posted_id("engineer_id")
    return act(ticket_id, lambda t: service.reassign(t, current_user, engineer_id, now_utc()),
               _("Engineer changed."), "reassign_form", ReassignForm(), validate=False)


@bp.post("/<int:ticket_id>/return")
@login_required
def return_to_hq(ticket_id):
    require_role(current_user, "partner_admin")
    form = ReturnForm()
    return act(ticket_id, lambda t: service.return_to_hq(t, current_user, form.reason_code.data, form.note.data, now_utc()),
               _("Returned to HQ."), "return_form", form)


@bp.post("/<int:ticket_id>/take")
@login_required
def take(ticket_id):
    require_role(current_user, *HQ_ROLES)
    return act(ticket_id, lambda t: service.take_at_hq(t, current_user, now_utc()), _("HQ serves this ticket now."))


@bp.post("/<int:ticket_id>/reroute")
@login_required
def reroute(ticket_id):
    require_role(current_user, *HQ_ROLES)
    return act(ticket_id, lambda t: service.reroute(t, current_user, now_utc()), _("Routing ran again."))


@bp.post("/<int:ticket_id>/offer")
@login_required
def offer_by_hand(ticket_id):
    require_role(current_user, *HQ_ROLES)
    form = OfferByHandForm()
    party_id = posted_id("party_id")
    return act(ticket_id, lambda t: service.offer_by_hand(t, current_user, party_id, form.override_reason.data, now_utc()),
               _("Offered."), "offer_form", form, field_names={"partner_id": "party_id"})


@bp.post("/<int:ticket_id>/escalate")
@login_required
def escalate(ticket_id):
    """The holder escalates: a first post shows the preview (billable? stays or moves on?), a
    second one (`confirm`) escalates."""
    ticket = get_or_404(Ticket, ticket_id, current_user)
    form = EscalateForm()
    if not form.validate_on_submit():
        return render_ticket(ticket, status=422, escalate_form=form)
    now, confirmed = now_utc(), form.confirm.data == "1"
    try:
        if confirmed:
            preview = service.escalate(ticket, current_user, form.tier.data, form.reason.data,
                                       form.accept_billable.data, now)
        else:
            preview = service.escalation_preview(ticket, current_user, form.tier.data, now)
    except DomainError as error:
        db.session.rollback()
        if error.status == 409:
            flash(error.message, "danger")
            return back_to(ticket_id)
        show_errors(form, error)
        ticket = get_or_404(Ticket, ticket_id, current_user)
        shown = service.escalation_preview(ticket, current_user, form.tier.data, now) if "tier" not in error.fields \
            else None
        return render_ticket(ticket, status=error.status, escalation=shown, escalate_form=form)
    if not confirmed:
        return render_ticket(ticket, escalation=preview, escalate_form=form)
    flash(escalated_message(preview), "success")
    return back_to(ticket_id)


def escalated_message(preview: service.EscalationPreview) -> str:
    if preview.stays_with_owner:
        return _("Escalated to %(tier)s.", tier=preview.to_tier)
    if preview.decision.offered_party_id:
        return _("Escalated to %(tier)s. You do not offer %(tier)s here: the ticket has been handed on to a partner "
                 "that does. This does not count as push-back.", tier=preview.to_tier)
    return _("Escalated to %(tier)s. You do not offer %(tier)s here and no partner can take it: the ticket has gone "
             "to the HQ queue. This does not count as push-back.", tier=preview.to_tier)
