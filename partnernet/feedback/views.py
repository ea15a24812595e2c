"""The customer's confirmation page (no sign-in), the link the owner copies, HQ's call-back queue."""
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from partnernet.auth.models import HQ_ROLES
from partnernet.cursors import cursor_page
from partnernet.errors import DomainError, NotFound
from partnernet.extensions import db, limiter
from partnernet.feedback import service
from partnernet.feedback.forms import AnswerForm
from partnernet.fieldwork.report import service_report
from partnernet.scope import get_or_404, require_role
from partnernet.settings.service import load_settings
from partnernet.tickets.models import Ticket
from partnernet.timeclock import now_utc
from partnernet.web import first_page_instead, page_cursors, show_errors

bp = Blueprint("feedback", __name__)


def confirmation_rate():
    return current_app.config["CONFIRMATION_RATE_LIMIT"]


# --- the customer's page ---------------------------------------------------------------------------

@bp.route("/confirm/<int:ticket_id>/<token>", methods=["GET", "POST"])
@limiter.limit(confirmation_rate)
def confirm(ticket_id, token):
    """The service report, and the customer's answer: once, for this ticket, while the link is valid."""
    now = now_utc()
    try:
        link = service.find_link(ticket_id, token, now)
    except NotFound:
        return gone(_("This link is not valid. Please check that it was copied whole."), 404)
    except service.LinkGone as error:
        return gone(error.message, 410)
    form = AnswerForm()
    if form.validate_on_submit():
        try:
            ticket = service.answer(link, form.answer(), now)
        except service.LinkGone as error:
            return gone(error.message, 410)
        except DomainError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            return render_template("feedback/thanks.html", ticket=ticket, solved=ticket.status == "closed")
    return render_template("feedback/confirm.html", form=form, report=service_report(link.ticket), link=link), \
        422 if form.errors else 200


def gone(message: str, status: int):
    return render_template("feedback/gone.html", message=message, status=status), status


# --- the owner's link to copy ------------------------------------------------------------------

@bp.post("/tickets/<int:ticket_id>/confirmation-link")
@login_required
def issue_link(ticket_id):
    """A fresh link, shown once (only its hash is kept); the earlier unanswered ones stop working."""
    ticket = get_or_404(Ticket, ticket_id, current_user)
    try:
        token, link = service.issue_link(ticket, current_user, now_utc())
    except DomainError as error:
        db.session.rollback()
        if error.status == 404:
            raise
        flash(error.message, "danger")
        return redirect(url_for("tickets.detail", ticket_id=ticket_id))
    return render_template("feedback/link.html", ticket=ticket, url=link_url(ticket.id, token), link=link)


def link_url(ticket_id: int, token: str) -> str:
    """The address the customer opens: PUBLIC_URL's when set, else the one this request came to."""
    base = current_app.config.get("PUBLIC_URL")
    if base:
        return base + service.link_path(ticket_id, token)
    return url_for("feedback.confirm", ticket_id=ticket_id, token=token, _external=True)


@bp.app_context_processor
def ticket_page_helpers():
    """For the ticket page's feedback part (templates/feedback/_ticket.html): the tickets need
    not import this feature."""
    def feedback_panel(ticket):
        return {"feedback": service.ticket_feedback(ticket, current_user),
                "can_issue_link": service.can_issue_link(ticket, current_user)}
    return {"feedback_panel": feedback_panel}


# --- HQ's call-backs ---------------------------------------------------------------------------------

@bp.get("/callbacks")
@login_required
def callbacks():
    require_role(current_user, *HQ_ROLES)
    if "page" in request.args:
        return first_page_instead("feedback.callbacks")
    share = float(load_settings()["callback_share"])
    statement = service.callback_queue_statement(share).options(selectinload(Ticket.customer), selectinload(Ticket.owner))
    page = cursor_page(statement, service.CALLBACK_ORDER, "callbacks", *page_cursors())
    return render_template("feedback/callbacks.html", page=page, share=share,
                           reasons=service.callback_reasons(page.items, share))


@bp.route("/callbacks/<int:ticket_id>", methods=["GET", "POST"])
@login_required
def record_callback(ticket_id):
    require_role(current_user, *HQ_ROLES)
    ticket = get_or_404(Ticket, ticket_id, current_user)
    form = AnswerForm()
    if form.validate_on_submit():
        try:
            service.record_callback(ticket, current_user, form.answer(), now_utc())
        except DomainError as error:
            db.session.rollback()
            if error.status == 409:
                flash(error.message, "danger")
                return redirect(url_for("feedback.callbacks"))
            show_errors(form, error)
        else:
            flash(_("Call-back recorded for ticket #%(id)d.", id=ticket.id), "success")
            return redirect(url_for("feedback.callbacks"))
    return render_template("feedback/callback.html", form=form, summary=service.summary(ticket),
                           feedback=service.ticket_feedback(ticket, current_user)), 422 if form.errors else 200
