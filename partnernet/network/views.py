"""Partner, coverage, engineer and certification pages. Views parse and check roles; the rules,
who may manage engineers and submit certifications among them, live in network.service and
network.certifications, shared with the API."""
import os
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager, joinedload
from flask import (Blueprint, abort, flash, jsonify, redirect, render_template, request, send_file,
                   url_for)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from partnernet.audit import service as audit_service
from partnernet.audit.scorecard import weekly_push_back
from partnernet.auth.models import HQ_ROLES, MANAGER_ROLES, User
from partnernet.auth.service import create_user
from partnernet.collation import by_name, sorted_by_name
from partnernet.cursors import count_capped, cursor_page
from partnernet.errors import DomainError
from partnernet.extensions import db
from partnernet.labels import choices, label, product_line_choices, reads_chinese
from partnernet.lookup import number_or_name
from partnernet.network import certifications, coverage_map, service, transfer
from partnernet.network.forms import (CertificationForm, CoverageForm, EngineerForm, EngineerLoginForm,
                                      PartnerForm, ReviewForm, RevokeForm, StatusForm)
from partnernet.network.models import (PARTNER_KINDS, PARTY_STATUSES, Certification, Coverage, Engineer,
                                       Party, PartyEvent, ProductLine)
from partnernet.notifications.channels import channels_of
from partnernet.notifications.providers import PROVIDER_NAMES
from partnernet.regions import service as regions
from partnernet.regions.models import Region
from partnernet.scope import get_or_404, require_role, scoped
from partnernet.tickets.models import OPEN_STATUSES, Ticket
from partnernet.timeclock import now_utc, today_in_china
from partnernet.web import download, first_page_instead, page_cursors, query_id, search_text, show_errors

bp = Blueprint("network", __name__)


def partner_filters() -> dict:
    """The partner list's filters from the query string (the list page and its export)."""
    args = request.args
    line = args.get("product_line", "")
    line_id = service.product_line_id(line) if line else None
    return dict(q=args.get("q", "")[:100], kind=args.get("kind", "") if args.get("kind") in PARTNER_KINDS else "",
                status=args.get("status", "") if args.get("status") in PARTY_STATUSES else "",
                province=args.get("province", "")[:6], product_line_id=line_id,
                uncertified=args.get("uncertified") == "1",
                sort=args.get("sort", "name") if args.get("sort") in service.PARTNER_SORTS else "name",
                descending=args.get("order") == "desc")


@bp.get("/partners/")
@login_required
def partners():
    require_role(current_user, *HQ_ROLES)
    if "page" in request.args:
        return first_page_instead("network.partners")
    filters = partner_filters()
    statement = service.partner_list_statement(today_in_china(), **filters, pinyin=reads_chinese())
    page = cursor_page(statement.options(joinedload(Party.province)), service.partner_list_order(
        filters["sort"], filters["descending"], reads_chinese()), "partners", *page_cursors())
    return render_template("network/partners.html", page=page, count=count_capped(statement), filters=filters,
                           kinds=PARTNER_KINDS,
                           statuses=PARTY_STATUSES, provinces=regions.provinces_for_picker(),
                           product_lines=service.active_product_lines())


@bp.get("/partners/search.json")
@login_required
def partners_json():
    """Partners by number or a part of the name, for pickers (a customer's seller)."""
    require_role(current_user, *HQ_ROLES)
    query = search_text()
    if not query:
        return jsonify([])
    parties = db.session.execute(sa.select(Party).where(Party.kind != "hq", number_or_name(query, Party.id, Party.name))
                                 .order_by(*by_name(Party.name, Party.name_sort), Party.id).limit(15)).scalars()
    return jsonify([{"id": p.id, "name": p.name, "kind": label(p.kind), "status": label(p.status)} for p in parties])


def partner_form(party=None) -> PartnerForm:
    form = PartnerForm(obj=party)
    form.province_code.choices = [("", "—")] + [(r.code, r.name) for r in regions.provinces_for_picker()]
    if party is not None and request.method == "GET":
        form.tiers.data = party.tiers
    return form


def partner_values(form: PartnerForm) -> dict:
    return {field: form[field].data for field in service.PARTNER_FIELDS}


@bp.route("/partners/new", methods=["GET", "POST"])
@login_required
def new_partner():
    require_role(current_user, *MANAGER_ROLES)
    form = partner_form()
    if form.validate_on_submit():
        try:
            party = service.create_partner(partner_values(form), current_user.id, now_utc())
        except DomainError as error:
            show_errors(form, error)
        else:
            flash(_("Partner created. It is onboarding until you activate it."), "success")
            return redirect(url_for("network.partner", party_id=party.id))
    return render_template("network/partner_form.html", form=form, party=None)


@bp.route("/partners/<int:party_id>/edit", methods=["GET", "POST"])
@login_required
def edit_partner(party_id):
    require_role(current_user, *MANAGER_ROLES)
    party = get_or_404(Party, party_id, current_user)
    form = partner_form(party)
    if form.validate_on_submit():
        try:
            service.update_partner(party, partner_values(form), current_user.id, now_utc())
        except DomainError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            flash(_("Partner saved."), "success")
            return redirect(url_for("network.partner", party_id=party.id))
    return render_template("network/partner_form.html", form=form, party=party)


@bp.get("/partners/<int:party_id>")
@login_required
def partner(party_id):
    party = get_or_404(Party, party_id, current_user)
    coverage_form = coverage_form_for()
    coverage_form.effective_from.data, coverage_form.tiers.data = today_in_china(), party.tiers
    return render_partner(party, status_form_for(party), coverage_form)


def status_form_for(party: Party) -> StatusForm:
    form = StatusForm()
    form.status.choices = choices(service.allowed_transitions(party.status))
    return form


def coverage_form_for() -> CoverageForm:
    form = CoverageForm()
    form.product_lines.choices = product_line_choices(service.active_product_lines(), lambda line: line.id)
    return form


def render_partner(party: Party, status_form: StatusForm, coverage_form: CoverageForm, status=200):
    """The partner's page; after a refused form, that form as it was filled in, with its errors."""
    today = today_in_china()
    chosen_region = regions.chosen(coverage_form.region_code.data)
    # Each list is the party's rows as far as the user may see them; an engineer gets no coverage.
    party_coverages = db.session.execute(scoped(
        db.select(Coverage).where(Coverage.party_id == party.id).order_by(Coverage.id), Coverage, current_user)
    ).scalars()
    # Who else covers a region is other partners' data: HQ's only.
    coverages = [(c, regions.count_counties(c.region),
                  service.overlapping_coverage(c, today) if current_user.is_hq and c.is_effective(today) else [])
                 for c in party_coverages]
    engineers = sorted_by_name(db.session.execute(scoped(  # one partner's: a short list
        db.select(Engineer).where(Engineer.party_id == party.id).order_by(Engineer.id), Engineer, current_user)
    ).scalars())
    engineer_certifications = {}
    for certification in db.session.execute(scoped(
            db.select(Certification).where(Certification.engineer_id.in_([e.id for e in engineers]))
            .order_by(Certification.id), Certification, current_user)).scalars():
        engineer_certifications.setdefault(certification.engineer_id, []).append(certification)
    open_tickets = db.session.execute(scoped(
        db.select(Ticket).where(Ticket.status.in_(OPEN_STATUSES),
                                (Ticket.owner_party_id == party.id) | (Ticket.offered_party_id == party.id))
        .order_by(Ticket.created_at.desc()).limit(50), Ticket, current_user)).scalars().all()
    show_records = service.can_see_partner_records(current_user)
    history = db.session.execute(
        db.select(PartyEvent).where(PartyEvent.party_id == party.id).order_by(PartyEvent.at.desc(), PartyEvent.id.desc())
    ).scalars().all() if show_records else []
    show_audit = not party.is_hq and show_records
    audit_history = audit_service.history_for_party(party.id) if show_audit else []
    audit_weeks = weekly_push_back(party.id, audit_service.last_full_week(now_utc())[1]) if show_audit else []
    # The party's group robots: its own administrator's to see and set (HQ's are on the settings page).
    own_channels = channels_of(party.id) if current_user.role == "partner_admin" and \
        current_user.party_id == party.id else None
    return render_template("network/partner.html", party=party, today=today, coverages=coverages,
                           status_form=status_form, coverage_form=coverage_form, open_tickets=open_tickets,
                           engineers=engineers, engineer_certifications=engineer_certifications,
                           history=history, show_history=show_records, product_lines=service.active_product_lines(),
                           show_audit=show_audit, audit_history=audit_history, audit_weeks=audit_weeks,
                           can_manage=current_user.role in MANAGER_ROLES, chosen_region=chosen_region,
                           can_manage_engineers=service.can_manage_engineers(current_user),
                           channels=own_channels, provider_names=PROVIDER_NAMES), status


@bp.post("/partners/<int:party_id>/status")
@login_required
def change_status(party_id):
    require_role(current_user, *MANAGER_ROLES)
    party = get_or_404(Party, party_id, current_user)
    form = status_form_for(party)
    if form.validate_on_submit():
        try:
            service.change_status(party, form.status.data, form.reason.data, current_user.id, now_utc())
        except DomainError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            flash(_("Status changed."), "success")
            return redirect(url_for("network.partner", party_id=party.id))
    coverage_form = coverage_form_for()
    coverage_form.effective_from.data, coverage_form.tiers.data = today_in_china(), party.tiers
    return render_partner(party, form, coverage_form, status=422)


@bp.post("/partners/<int:party_id>/coverage")
@login_required
def add_coverage(party_id):
    require_role(current_user, *MANAGER_ROLES)
    party = get_or_404(Party, party_id, current_user)
    form = coverage_form_for()
    if form.validate_on_submit():
        try:
            coverage = service.add_coverage(
                party, form.region_code.data, form.all_product_lines.data,
                [int(i) for i in form.product_lines.data], form.tiers.data,
                form.effective_from.data, form.effective_to.data, current_user.id, now_utc())
        except DomainError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            flash(_("Coverage of %(region)s added.", region=coverage.region.name), "success")
            return redirect(url_for("network.partner", party_id=party.id) + "#coverage")
    return render_partner(party, status_form_for(party), form, status=422)


@bp.post("/coverage/<int:coverage_id>/end")
@login_required
def end_coverage(coverage_id):
    require_role(current_user, *MANAGER_ROLES)
    coverage = get_or_404(Coverage, coverage_id, current_user)
    party_id = coverage.party_id
    try:
        service.end_coverage(coverage, current_user.id, now_utc(), today_in_china())
        flash(_("Coverage ended."), "success")
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "danger")
    return redirect(url_for("network.partner", party_id=party_id) + "#coverage")


# --- engineers ---------------------------------------------------------------------------------

@bp.route("/partners/<int:party_id>/engineers/new", methods=["GET", "POST"])
@login_required
def new_engineer(party_id):
    party = get_or_404(Party, party_id, current_user)
    service.require_engineer_manager(current_user)
    form = EngineerForm()
    if form.validate_on_submit():
        try:
            engineer = service.save_engineer(party, form.data, actor_id=current_user.id)
        except DomainError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            flash(_("Engineer %(name)s added.", name=engineer.name), "success")
            return redirect(url_for("network.engineer", engineer_id=engineer.id))
    return render_template("network/engineer_form.html", form=form, party=party, engineer=None), \
        422 if form.errors else 200


@bp.route("/engineers/<int:engineer_id>/edit", methods=["GET", "POST"])
@login_required
def edit_engineer(engineer_id):
    engineer = get_or_404(Engineer, engineer_id, current_user)
    service.require_engineer_manager(current_user)
    form = EngineerForm(obj=engineer)
    if form.validate_on_submit():
        try:
            service.save_engineer(engineer.party, form.data, engineer, current_user.id)
        except DomainError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            flash(_("Engineer saved."), "success")
            return redirect(url_for("network.engineer", engineer_id=engineer.id))
    return render_template("network/engineer_form.html", form=form, party=engineer.party, engineer=engineer), \
        422 if form.errors else 200


@bp.get("/engineers/<int:engineer_id>")
@login_required
def engineer(engineer_id):
    """The engineer's page; `?renew=<certificate id>` fills the submission form for its renewal
    (same product line and level), the certificate's number shown beside it."""
    engineer = get_or_404(Engineer, engineer_id, current_user)
    form, renewing = certification_form(), None
    if "renew" in request.args:
        renew_id = query_id("renew")
        if not renew_id:
            abort(404)
        renewing = get_or_404(Certification, renew_id, current_user)
        if renewing.engineer_id != engineer.id:
            abort(404)
        form.product_line.data, form.level.data = renewing.product_line.code, renewing.level
    return render_engineer(engineer, form, renewing=renewing)


def render_engineer(engineer: Engineer, form, login_form=None, status=200, refused_revoke=None, renewing=None):
    login = db.session.execute(db.select(User).where(User.engineer_id == engineer.id)).scalar_one_or_none()
    return render_template("network/engineer.html", engineer=engineer, today=today_in_china(), form=form,
                           renewing=renewing,
                           can_submit=certifications.can_submit_for(current_user, engineer),
                           can_edit=service.can_manage_engineers(current_user), login=login,
                           can_revoke=current_user.role in MANAGER_ROLES, revoke_form=RevokeForm(formdata=None),
                           refused_revoke=refused_revoke or (None, None),
                           login_form=login_form or EngineerLoginForm(email=engineer.email)), status


@bp.post("/engineers/<int:engineer_id>/login")
@login_required
def create_engineer_login(engineer_id):
    """Give an engineer a sign-in of their own (role engineer), bound to their record."""
    engineer = get_or_404(Engineer, engineer_id, current_user)
    service.require_engineer_manager(current_user)
    form = EngineerLoginForm()
    if form.validate_on_submit():
        try:
            create_user(form.email.data, engineer.name, "engineer", form.password.data,
                        party_id=engineer.party_id, engineer_id=engineer.id, actor=current_user)
        except DomainError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            flash(_("%(name)s can now sign in as %(email)s.", name=engineer.name, email=form.email.data.lower()), "success")
            return redirect(url_for("network.engineer", engineer_id=engineer.id))
    return render_engineer(engineer, certification_form(), login_form=form, status=422)


def certification_form() -> CertificationForm:
    form = CertificationForm()
    form.product_line.choices = product_line_choices(service.active_product_lines())
    return form


@bp.post("/engineers/<int:engineer_id>/certifications")
@login_required
def submit_certification(engineer_id):
    engineer = get_or_404(Engineer, engineer_id, current_user)
    if not certifications.can_submit_for(current_user, engineer):
        abort(403)
    form = certification_form()
    if form.validate_on_submit():
        upload = form.scan.data
        scan = certifications.Scan(upload.filename, upload.read(certifications.MAX_SCAN_BYTES + 1)) if upload else None
        try:
            certifications.submit(engineer, form.product_line.data, form.level.data, form.number.data,
                                  form.issued_on.data, form.expires_on.data, now_utc(), scan)
        except DomainError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            flash(_("Certification submitted. It counts once HQ approves it."), "success")
            return redirect(url_for("network.engineer", engineer_id=engineer.id))
    return render_engineer(engineer, form, status=422)


@bp.get("/certifications/<int:certification_id>/scan")
@login_required
def certification_scan(certification_id):
    certification = get_or_404(Certification, certification_id, current_user)
    if not certification.scan_path:
        abort(404)
    path = os.path.join(certifications.scan_directory(), os.path.basename(certification.scan_path))
    return send_file(path, mimetype=certification.scan_content_type, as_attachment=True,
                     download_name=certification.scan_filename or os.path.basename(path))


REVIEW_FILTERS = ("partner", "product_line", "older_than")


def review_filters() -> certifications.ReviewFilters:
    """The queue's filters from the query string; a product line nobody has selects nothing."""
    args = request.args
    line, older = args.get("product_line", ""), args.get("older_than", type=int)
    return certifications.ReviewFilters(
        party_id=query_id("partner"), product_line_id=(service.product_line_id(line) or 0) if line else None,
        older_than_days=max(0, min(older, 3650)) if older is not None else None)


@bp.get("/certifications/review")
@login_required
def review_queue():
    require_role(current_user, *MANAGER_ROLES)
    return render_review_queue()


def render_review_queue(refused: tuple[Certification, ReviewForm] | None = None, status=200):
    """A page of the queue; after a refused review, the page starting at that certification, its
    form as it was filled in."""
    now, today = now_utc(), today_in_china()
    filters = review_filters()
    try:
        after_key = certifications.queue_key(request.args.get("after"))
        before_key = None if after_key else certifications.queue_key(request.args.get("before"))
    except DomainError:  # a cursor we did not write: the first page
        after_key = before_key = None
    if refused is not None:
        after_key, before_key = (refused[0].submitted_at, refused[0].id - 1), None
    page = certifications.pending_page(filters, now, today, after_key, before_key)
    shown = {name: request.args[name] for name in REVIEW_FILTERS if request.args.get(name)}
    return render_template(
        "network/review_queue.html", page=page, filters=shown, product_lines=service.active_product_lines(),
        waiting=certifications.pending_count(filters, now), cursor=certifications.queue_cursor,
        paged=bool(after_key or before_key), form=ReviewForm(formdata=None),
        refused=(refused[0].id, refused[1]) if refused else (None, None), today=today), status


@bp.post("/certifications/review/approve")
@login_required
def approve_certifications():
    """Approve the certificates ticked on a page of the queue, each as its own Approve button would."""
    require_role(current_user, *MANAGER_ROLES)
    ids = [int(value) for value in request.form.getlist("certification")[:certifications.REVIEW_PAGE_SIZE * 4]
           if value.isdigit() and len(value) <= 10]
    back = url_for("network.review_queue", **{name: request.form[name] for name in REVIEW_FILTERS + ("after",)
                                               if request.form.get(name)})
    if not ids:
        flash(_("Tick the certifications to approve."), "warning")
        return redirect(back)
    approved, skipped = certifications.approve_many(ids, current_user.id, now_utc(), today_in_china())
    if approved:
        flash(_("Certifications approved: %(count)d.", count=len(approved)), "success")
    for number, reason in skipped:
        flash(_("%(number)s skipped: %(reason)s", number=number, reason=reason), "danger")
    return redirect(back)


@bp.post("/certifications/<int:certification_id>/review")
@login_required
def review_certification(certification_id):
    require_role(current_user, *MANAGER_ROLES)
    certification = get_or_404(Certification, certification_id, current_user)
    form = ReviewForm()
    if form.validate_on_submit():
        try:
            certifications.review(certification, form.decision.data, form.reason.data, current_user.id,
                                  now_utc(), today_in_china())
        except DomainError as error:
            db.session.rollback()
            if error.status == 409:  # reviewed meanwhile: it has left the queue
                flash(error.message, "danger")
                return redirect(url_for("network.review_queue"))
            show_errors(form, error)
        else:
            flash(_("Approved.") if form.decision.data == "approve" else _("Rejected."), "success")
            return redirect(url_for("network.review_queue"))
    return render_review_queue((certification, form), status=422)


@bp.post("/certifications/<int:certification_id>/revoke")
@login_required
def revoke_certification(certification_id):
    """HQ withdraws a valid certification (found false, the engineer no longer qualified): from
    now on it certifies nobody for routing or for taking tickets."""
    require_role(current_user, *MANAGER_ROLES)
    certification = get_or_404(Certification, certification_id, current_user)
    form = RevokeForm()
    if form.validate_on_submit():
        try:
            certifications.revoke(certification, form.reason.data, current_user.id, now_utc())
        except DomainError as error:
            db.session.rollback()
            if error.status == 409:  # no longer valid: nothing left to revoke
                flash(error.message, "danger")
                return redirect(url_for("network.engineer", engineer_id=certification.engineer_id))
            show_errors(form, error)
        else:
            flash(_("Certification revoked."), "success")
            return redirect(url_for("network.engineer", engineer_id=certification.engineer_id))
    return render_engineer(get_or_404(Engineer, certification.engineer_id, current_user), certification_form(),
                           refused_revoke=(certification.id, form), status=422)


# --- coverage by region ------------------------------------------------------------------------

@bp.get("/coverage")
@login_required
def coverage_by_region():
    """Drill down China → province → city for a product line: who covers each county, and the gaps."""
    require_role(current_user, *HQ_ROLES)
    lines = service.active_product_lines()
    if not lines:
        abort(404)
    line = next((l for l in lines if l.code == request.args.get("product_line")), lines[0])
    region = None
    if request.args.get("region"):
        region = db.session.get(Region, request.args["region"][:6])
        if region is None:
            abort(404)
        if not regions.children(region.code):  # a county unit: show it among its siblings
            return redirect(url_for("network.coverage_by_region", product_line=line.code, region=region.parent_code))
    result = coverage_map.coverage_map(line.id, region.code if region else None, today_in_china())
    if request.args.get("format") == "csv":
        return coverage_gaps_csv(result, line)
    view = "kind" if request.args.get("view") == "kind" else "share"
    return render_template("network/coverage_by_region.html", result=result, line=line, product_lines=lines,
                           chain=list(reversed(regions.chain(region.code))) if region else [], view=view,
                           best_kinds=coverage_map.best_kind_by_province(result) if region is None else {})


def coverage_gaps_csv(result, line: ProductLine):
    provinces = {r.code: r.name for r in regions.children(None)}
    rows = ([provinces.get(county.province_code, ""), county.city_name or "", county.code, county.name,
             label(county.gap_reason),
             # partners' names are anyone's text: quoted when they look like a formula
             transfer.csv_cell("; ".join(f"{p.name} ({label(p.status)})" for p in county.partners))]
            for county in result.gaps)
    export = transfer.Export("gaps", [_("Province"), _("City"), _("County code"), _("County"), _("Gap reason"),
                                      _("Covered by")], rows, csv_cell=str)
    name = f"coverage-gaps-{line.code}-{result.region.code if result.region else 'china'}"
    return download("csv", export, name)


@bp.get("/certifications/")
@login_required
def certifications_list():
    """HQ's list of certifications: expiring within N days, or by status."""
    require_role(current_user, *HQ_ROLES)
    if "page" in request.args:
        return first_page_instead("network.certifications_list")
    today = today_in_china()
    statement = db.select(Certification).join(Engineer, Engineer.id == Certification.engineer_id)
    status = request.args.get("status", "")
    expiring = request.args.get("expiring", type=int)
    if expiring is not None:
        expiring = max(0, min(expiring, 365))
        statement = statement.where(Certification.status == "valid", Engineer.active,
                                    Certification.expires_on.between(today, today + timedelta(days=expiring)))
    elif status in ("pending", "valid", "rejected", "expired", "revoked"):
        statement = statement.where(Certification.status == status)
    page = cursor_page(statement.options(contains_eager(Certification.engineer).joinedload(Engineer.party),
                                         joinedload(Certification.product_line)),
                       [(Certification.expires_on, False), (Certification.id, False)], "certifications", *page_cursors())
    return render_template("network/certifications.html", page=page, count=count_capped(statement), status=status,
                           expiring=expiring)
