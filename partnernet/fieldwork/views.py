"""Field work pages: a ticket's attachments and visits (a part of the ticket's page), the files
themselves, and the service report as a printable page and a PDF. The rules are the services'."""
from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, flash, g, make_response, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from partnernet.collation import sorted_by_name
from partnernet.errors import DomainError, NotFound
from partnernet.extensions import db
from partnernet.fieldwork import attachments, visits
from partnernet.fieldwork.forms import AttachmentForm, CheckOutForm, VisitForm
from partnernet.fieldwork.models import Attachment, Visit, sees_fieldwork
from partnernet.fieldwork.pdf import render_pdf
from partnernet.fieldwork.report import service_report
from partnernet.scope import get_or_404
from partnernet.tickets import service as tickets
from partnernet.tickets.models import Ticket
from partnernet.tickets.views import render_ticket
from partnernet.timeclock import CHINA, now_utc, today_in_china
from partnernet.web import show_errors

bp = Blueprint("fieldwork", __name__)


@dataclass
class TicketFieldwork:
    """What the ticket page's field work part shows and offers the signed-in user."""
    visible: bool
    attachments: list
    visits: list
    can_attach: bool
    can_plan: bool
    upload_form: AttachmentForm | None = None
    visit_form: VisitForm | None = None
    checkout_forms: dict | None = None
    tappable: set | None = None


@bp.app_template_global()
def fieldwork_of(ticket: Ticket) -> TicketFieldwork:
    user = current_user
    if not sees_fieldwork(ticket, user):
        return TicketFieldwork(False, [], [], False, False)
    forms = getattr(g, "fieldwork_forms", {})
    ticket_visits = visits.visits_of(ticket)
    can_plan = visits.serves_visits(ticket, user)
    visit_form = forms.get("visit_form") or VisitForm()
    if can_plan:
        engineers = sorted_by_name(tickets.certified_engineers_for(ticket, ticket.owner_party_id, today_in_china()))
        visit_form.engineer_id.choices = [(e.id, e.name) for e in engineers]
        if request.method == "GET":
            visit_form.engineer_id.data = ticket.engineer_id
    tappable = {v.id for v in ticket_visits if v.checked_out_at is None and visits.may_tap(v, user)
                and v.party_id == ticket.owner_party_id}
    checkout_forms = {v.id: distinct_ids(forms.get(f"checkout_form_{v.id}") or CheckOutForm(), f"visit{v.id}-")
                      for v in ticket_visits if v.id in tappable and v.checked_in_at is not None}
    return TicketFieldwork(True, attachments.attachments_of(ticket), ticket_visits,
                           attachments.can_attach(ticket, user), can_plan,
                           forms.get("upload_form") or AttachmentForm(), visit_form, checkout_forms, tappable)


def distinct_ids(form, prefix: str):
    """A form shown once per visit: the same field names, each field's id its own on the page."""
    for name in form._fields:
        form[name].id = form[name].label.field_id = prefix + name
    return form


def act(ticket: Ticket, action, success: str, **forms):
    """Run one field work step; a refusal comes back on the ticket's page with the form as filled
    in, a conflict (a double tap, a ticket moved on) as a message."""
    try:
        action()
    except DomainError as error:
        db.session.rollback()
        if error.status == 404:
            raise
        if error.status == 409:
            flash(error.message, "danger")
            return redirect(url_for("tickets.detail", ticket_id=ticket.id))
        for form in forms.values():
            show_errors(form, error)
        g.fieldwork_forms = forms
        return render_ticket(db.session.get(Ticket, ticket.id), status=error.status)
    flash(success, "success")
    return redirect(url_for("tickets.detail", ticket_id=ticket.id) + "#fieldwork")


@bp.post("/tickets/<int:ticket_id>/attachments")
@login_required
def upload(ticket_id):
    ticket = get_or_404(Ticket, ticket_id, current_user)
    form = AttachmentForm()
    file = request.files.get("file")
    content = file.read(attachments.MAX_ATTACHMENT_BYTES + 1) if file else b""
    upload = attachments.Upload(file.filename if file else "", content)
    return act(ticket, lambda: attachments.attach(ticket, current_user, upload, now_utc()),
               _("Attached."), upload_form=form)


def attachment_or_404(attachment_id: int) -> Attachment:
    return get_or_404(Attachment, attachment_id, current_user)


def sent(path: str, content_type: str, download_name: str, as_attachment: bool):
    response = send_file(path, mimetype=content_type, as_attachment=as_attachment, download_name=download_name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/attachments/<int:attachment_id>")
@login_required
def attachment_file(attachment_id):
    attachment = attachment_or_404(attachment_id)
    return sent(attachments.stored_path(attachment.stored_name), attachment.content_type, attachment.filename, True)


@bp.get("/attachments/<int:attachment_id>/thumbnail")
@login_required
def thumbnail(attachment_id):
    attachment = attachment_or_404(attachment_id)
    if not attachment.thumbnail_name:
        raise NotFound()
    return sent(attachments.stored_path(attachment.thumbnail_name), "image/jpeg", "thumbnail.jpg", False)


def china_instant(value: datetime | None) -> datetime | None:
    """A time typed on the form: China's time."""
    return value.replace(tzinfo=CHINA) if value else None


@bp.post("/tickets/<int:ticket_id>/visits")
@login_required
def plan_visit(ticket_id):
    ticket = get_or_404(Ticket, ticket_id, current_user)
    form = VisitForm()
    form.validate()  # a time the browser did not send as one becomes the field's error
    engineer_id = form.engineer_id.data if form.engineer_id.raw_data else None
    return act(ticket, lambda: visits.plan(ticket, current_user, engineer_id, china_instant(form.planned_start.data),
                                           china_instant(form.planned_end.data), now_utc()),
               _("Visit planned."), visit_form=form)


@bp.post("/visits/<int:visit_id>/check-in")
@login_required
def check_in(visit_id):
    visit = get_or_404(Visit, visit_id, current_user)
    return act(visit.ticket, lambda: visits.check_in(visit, current_user, now_utc()), _("Checked in."))


@bp.post("/visits/<int:visit_id>/check-out")
@login_required
def check_out(visit_id):
    visit = get_or_404(Visit, visit_id, current_user)
    form = CheckOutForm()
    return act(visit.ticket, lambda: visits.check_out(visit, current_user, form.work_done.data, form.parts_used.data,
                                                      form.hours.data, now_utc()),
               _("Checked out."), **{f"checkout_form_{visit.id}": form})


def reported_ticket(ticket_id: int) -> Ticket:
    ticket = get_or_404(Ticket, ticket_id, current_user)
    if not sees_fieldwork(ticket, current_user):
        raise NotFound()
    return ticket


@bp.get("/tickets/<int:ticket_id>/report")
@login_required
def report(ticket_id):
    ticket = reported_ticket(ticket_id)
    return render_template("fieldwork/report.html", ticket=ticket, report=service_report(ticket))


@bp.get("/tickets/<int:ticket_id>/report.pdf")
@login_required
def report_pdf(ticket_id):
    ticket = reported_ticket(ticket_id)
    return pdf_response(render_pdf(render_template("fieldwork/report_pdf.html", report=service_report(ticket))),
                        f"service-report-{ticket.id}.pdf")


def pdf_response(pdf: bytes, filename: str):
    response = make_response(pdf)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
