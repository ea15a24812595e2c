"""/api/v1 field work: a ticket's attachments, its visits (plan, check-in, check-out) and its service
report (JSON, PDF). The rules are partnernet.fieldwork's, as on the ticket's page; HQ and the party
holding the ticket see them, anyone else gets 404."""
import marshmallow as ma
from flask import make_response, render_template, send_file
from marshmallow import fields, validate

from partnernet.api.blueprint import api_user, blp, documented_errors
from partnernet.api.fields import ChinaDateTime, Id
from partnernet.api.schemas import one_of, text
from partnernet.errors import NotFound
from partnernet.fieldwork import attachments, visits
from partnernet.fieldwork.models import ATTACHMENT_KINDS, Attachment, Visit, sees_fieldwork
from partnernet.fieldwork.pdf import render_pdf
from partnernet.fieldwork.report import TIMELINE_KINDS, service_report
from partnernet.scope import get_or_404
from partnernet.tickets.models import TICKET_STATUSES, Ticket
from partnernet.timeclock import now_utc
from flask_smorest.fields import Upload

TAGS = ["field work"]
BINARY = {"type": "string", "format": "binary"}
FILE_TYPES = ("image/png", "image/jpeg", "image/webp", "image/gif", "application/pdf", "text/plain")


# --- schemas -----------------------------------------------------------------------------------

class AttachmentOut(ma.Schema):
    id = fields.Integer(required=True)
    ticket_id = fields.Integer(required=True)
    kind = one_of(ATTACHMENT_KINDS, required=True)
    content_type = fields.String(required=True, metadata={"example": "image/jpeg"})
    filename = fields.String(required=True, metadata={"description": "The name it downloads as."})
    size = fields.Integer(required=True, metadata={"description": "Bytes."})
    has_thumbnail = fields.Boolean(required=True, metadata={"description": "Images have one (JPEG, 320 px)."})
    uploaded_by_id = fields.Integer(required=True)
    uploaded_at = ChinaDateTime(required=True)


class AttachmentList(ma.Schema):
    items = fields.List(fields.Nested(AttachmentOut), required=True)


class AttachmentIn(ma.Schema):
    file = Upload(required=True, metadata={"description": "A photo or screenshot (PNG, JPEG, WebP, GIF), a PDF, or "
                                                          "a text log (.log, .txt); at most 10 MB."})


class VisitTimes(ma.Schema):
    """What a visit says in the API and in the service report alike: its window, check-in and
    check-out, the work done."""
    planned_start = ChinaDateTime(required=True)
    planned_end = ChinaDateTime(required=True)
    checked_in_at = ChinaDateTime(required=True, allow_none=True)
    checked_out_at = ChinaDateTime(required=True, allow_none=True)
    work_done = fields.String(required=True)
    parts_used = fields.String(required=True)
    hours = fields.Float(required=True, allow_none=True)
    on_site_minutes = fields.Integer(required=True, allow_none=True)


class VisitOut(VisitTimes):
    id = fields.Integer(required=True)
    ticket_id = fields.Integer(required=True)
    party_id = fields.Integer(required=True)
    engineer_id = fields.Integer(required=True)


class VisitList(ma.Schema):
    items = fields.List(fields.Nested(VisitOut), required=True)


class VisitPlanIn(ma.Schema):
    engineer_id = Id(metadata={"description": "One of the holder's certified engineers; default the ticket's. "
                                              "An engineer plans their own visits."})
    planned_start = ChinaDateTime(required=True, metadata={"description": "Without an offset: China's time."})
    planned_end = ChinaDateTime(required=True)


class CheckOutIn(ma.Schema):
    work_done = text(5000, min_length=1, required=True)
    parts_used = text(2000, load_default="")
    hours = fields.Float(allow_none=True, validate=validate.Range(min=0, max=99),
                         metadata={"description": "Hours worked, in tenths (the time on site is recorded anyway)."})


class ReportVisitOut(VisitTimes):
    engineer = fields.String(required=True)
    party = fields.String(required=True)


class ReportStepOut(ma.Schema):
    at = ChinaDateTime(required=True)
    kind = one_of(TIMELINE_KINDS, required=True)
    to_status = one_of(TICKET_STATUSES, required=True, allow_none=True)
    party = fields.String(required=True, allow_none=True)
    engineer = fields.String(required=True, allow_none=True)


class ServiceReportOut(ma.Schema):
    ticket_id = fields.Integer(required=True)
    subject = fields.String(required=True)
    description = fields.String(required=True)
    customer = fields.String(required=True)
    region = fields.String(required=True)
    product_line = fields.String(required=True)
    tier = fields.String(required=True)
    status = one_of(TICKET_STATUSES, required=True)
    party = fields.String(required=True, allow_none=True, metadata={"description": "Who served (holds) the ticket."})
    engineers = fields.List(fields.String(), required=True)
    opened_at = ChinaDateTime(required=True)
    resolved_at = ChinaDateTime(required=True, allow_none=True)
    closed_at = ChinaDateTime(required=True, allow_none=True)
    resolution = fields.String(required=True, allow_none=True)
    visits = fields.List(fields.Nested(ReportVisitOut), required=True)
    timeline = fields.List(fields.Nested(ReportStepOut), required=True)
    time_on_site_minutes = fields.Integer(required=True, metadata={"description": "Check-in to check-out, summed."})


# --- views -------------------------------------------------------------------------------------

def minutes(delta) -> int | None:
    return int(delta.total_seconds() // 60) if delta is not None else None


def attachment_view(attachment: Attachment) -> dict:
    view = {name: getattr(attachment, name) for name in (
        "id", "ticket_id", "kind", "content_type", "filename", "size", "uploaded_by_id", "uploaded_at")}
    view["has_thumbnail"] = attachment.thumbnail_name is not None
    return view


def visit_view(visit: Visit) -> dict:
    view = {name: getattr(visit, name) for name in (
        "id", "ticket_id", "party_id", "engineer_id", "planned_start", "planned_end", "checked_in_at",
        "checked_out_at", "work_done", "parts_used")}
    view.update(hours=float(visit.hours) if visit.hours is not None else None, on_site_minutes=minutes(visit.on_site))
    return view


def fieldwork_ticket(ticket_id: int) -> Ticket:
    """A ticket whose field work the caller sees: HQ, or the party holding it; else 404."""
    user = api_user()
    ticket = get_or_404(Ticket, ticket_id, user)
    if not sees_fieldwork(ticket, user):
        raise NotFound()
    return ticket


def file_response(path: str, content_type: str, name: str, as_attachment: bool):
    response = send_file(path, mimetype=content_type, as_attachment=as_attachment, download_name=name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@blp.route("/tickets/<id:ticket_id>/attachments", methods=["GET"], tags=TAGS)
@blp.response(200, AttachmentList)
@documented_errors(404)
def list_attachments(ticket_id):
    """A ticket's attachments, oldest first (HQ, the party holding the ticket)."""
    ticket = fieldwork_ticket(ticket_id)
    return {"items": [attachment_view(a) for a in attachments.attachments_of(ticket)]}


@blp.route("/tickets/<id:ticket_id>/attachments", methods=["POST"], tags=TAGS)
@blp.arguments(AttachmentIn, location="files")
@blp.response(201, AttachmentOut)
@documented_errors(404, 409, 413, 422)
def upload_attachment(data, ticket_id):
    """Attach a file while the ticket is held (the holder's users, its engineer, HQ): multipart/form-data,
    field `file`. What it is is read from its content, not its name; a name that says otherwise is 422."""
    user = api_user()
    ticket = get_or_404(Ticket, ticket_id, user)
    upload = data["file"]
    content = upload.read(attachments.MAX_ATTACHMENT_BYTES + 1)
    return attachment_view(attachments.attach(ticket, user, attachments.Upload(upload.filename or "", content),
                                              now_utc()))


@blp.route("/attachments/<id:attachment_id>/file", methods=["GET"], tags=TAGS)
@blp.response(200, BINARY, content_type="application/pdf",
              description="The file, as a download (Content-Disposition: attachment).")
@blp.doc(responses={200: {"content": {content_type: {"schema": BINARY} for content_type in FILE_TYPES}}})
@documented_errors(404)
def download_attachment(attachment_id):
    """Download an attachment (HQ, the party holding its ticket)."""
    attachment = get_or_404(Attachment, attachment_id, api_user())
    return file_response(attachments.stored_path(attachment.stored_name), attachment.content_type,
                         attachment.filename, True)


@blp.route("/attachments/<id:attachment_id>/thumbnail", methods=["GET"], tags=TAGS)
@blp.response(200, BINARY, content_type="image/jpeg", description="A JPEG at most 320 px wide and high.")
@documented_errors(404)
def attachment_thumbnail(attachment_id):
    """An image attachment's thumbnail; 404 for other kinds."""
    attachment = get_or_404(Attachment, attachment_id, api_user())
    if not attachment.thumbnail_name:
        raise NotFound()
    return file_response(attachments.stored_path(attachment.thumbnail_name), "image/jpeg", "thumbnail.jpg", False)


@blp.route("/tickets/<id:ticket_id>/visits", methods=["GET"], tags=TAGS)
@blp.response(200, VisitList)
@documented_errors(404)
def list_visits(ticket_id):
    """A ticket's visits in the order of their windows (HQ, the party holding the ticket)."""
    ticket = fieldwork_ticket(ticket_id)
    return {"items": [visit_view(v) for v in visits.visits_of(ticket)]}


@blp.route("/tickets/<id:ticket_id>/visits", methods=["POST"], tags=TAGS)
@blp.arguments(VisitPlanIn)
@blp.response(201, VisitOut)
@documented_errors(400, 404, 409, 422)
def plan_visit(data, ticket_id):
    """Plan a visit in the window agreed with the customer (the holder's users; HQ when HQ holds it)."""
    user = api_user()
    ticket = get_or_404(Ticket, ticket_id, user)
    return visit_view(visits.plan(ticket, user, data.get("engineer_id"), data["planned_start"], data["planned_end"],
                                  now_utc()))


@blp.route("/visits/<id:visit_id>/check-in", methods=["POST"], tags=TAGS)
@blp.response(200, VisitOut)
@documented_errors(404, 409)
def check_in(visit_id):
    """The engineer is on site: the time is the server's. A second check-in is 409 and records nothing; so is
    one while the engineer is still checked in elsewhere."""
    user = api_user()
    return visit_view(visits.check_in(get_or_404(Visit, visit_id, user), user, now_utc()))


@blp.route("/visits/<id:visit_id>/check-out", methods=["POST"], tags=TAGS)
@blp.arguments(CheckOutIn)
@blp.response(200, VisitOut)
@documented_errors(400, 404, 409, 422)
def check_out(data, visit_id):
    """The engineer leaves, saying what was done (the time is the server's). 409 before a check-in or after a
    check-out."""
    user = api_user()
    visit = get_or_404(Visit, visit_id, user)
    return visit_view(visits.check_out(visit, user, data["work_done"], data["parts_used"], data.get("hours"),
                                       now_utc()))


def report_view(ticket: Ticket) -> dict:
    report = service_report(ticket)
    view = dict(vars(report))
    view["visits"] = [dict(vars(v), hours=float(v.hours) if v.hours is not None else None,
                           on_site_minutes=minutes(v.on_site)) for v in report.visits]
    view["timeline"] = [vars(step) for step in report.timeline]
    view["time_on_site_minutes"] = minutes(report.time_on_site)
    return view


@blp.route("/tickets/<id:ticket_id>/report", methods=["GET"], tags=TAGS)
@blp.response(200, ServiceReportOut)
@documented_errors(404)
def get_service_report(ticket_id):
    """The service report (服务报告): what was asked, what was done, by whom, when, the time on site."""
    return report_view(fieldwork_ticket(ticket_id))


@blp.route("/tickets/<id:ticket_id>/report.pdf", methods=["GET"], tags=TAGS)
@blp.response(200, BINARY, content_type="application/pdf", description="The service report as a PDF.")
@documented_errors(404, 503)
def get_service_report_pdf(ticket_id):
    """The service report as a PDF (A4, Chinese set in Noto Sans CJK). 503 when the server cannot make PDFs."""
    ticket = fieldwork_ticket(ticket_id)
    pdf = render_pdf(render_template("fieldwork/report_pdf.html", report=service_report(ticket)))
    response = make_response(pdf)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="service-report-{ticket.id}.pdf"'
    return response
