"""HQ's customer pages: find a customer, add one (a caller not yet known), its contracts, and the
annual service fees received; plus the customer search of ticket intake. The rules are in
customers.service."""
import sqlalchemy as sa
from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from partnernet.auth.models import HQ_ROLES, MANAGER_ROLES
from partnernet.collation import by_name
from partnernet.customers import service
from partnernet.customers import transfer as customers_transfer
from partnernet.customers.forms import ContractEditForm, ContractForm, CustomerForm, ServicePaymentForm
from partnernet.customers.models import Contract, Customer
from partnernet.cursors import count_capped, cursor_page
from partnernet.errors import DomainError
from partnernet.extensions import db
from partnernet.labels import product_line_choices
from partnernet.lookup import chosen_id, number_or_name
from partnernet.network.service import active_product_lines
from partnernet.scope import get_or_404, require_role, scoped
from partnernet.settings.models import SlaPolicy
from partnernet.settings.service import load_settings
from partnernet.templating import ui_language
from partnernet.tickets.models import Ticket
from partnernet.timeclock import now_utc, today_in_china
from partnernet.web import download, first_page_instead, page_cursors, search_text, show_errors

bp = Blueprint("customers", __name__, url_prefix="/customers")


@bp.get("/")
@login_required
def index():
    require_role(current_user, *HQ_ROLES)
    if "page" in request.args:
        return first_page_instead("customers.index")
    q = search_text()
    statement = sa.select(Customer)
    if q:
        statement = statement.where(number_or_name(q, Customer.id, Customer.name))
    statement = scoped(statement, Customer, current_user)
    page = cursor_page(statement.options(selectinload(Customer.contracts), selectinload(Customer.region),
                                         selectinload(Customer.sold_by)),
                       [(key, False) for key in by_name(Customer.name, Customer.name_sort) + (Customer.id,)],
                       "customers", *page_cursors())
    today, settings = today_in_china(), load_settings()
    status = {c.id: service.service_status(c, today, settings) for customer in page.items for c in customer.contracts}
    return render_template("customers/index.html", page=page, count=count_capped(statement), q=q, status=status)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    """A customer not yet known, e.g. a first caller: HQ adds it, then opens the ticket."""
    require_role(current_user, *HQ_ROLES)
    form = CustomerForm()
    if form.validate_on_submit():
        values = {name: form[name].data for name in service.CUSTOMER_FIELDS}
        values["sold_by_partner_id"] = chosen_id(form.sold_by_partner_id.data)
        try:
            customer = service.create_customer(values, now_utc(), current_user.id)
        except DomainError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            flash(_("Customer %(name)s added.", name=customer.name), "success")
            return redirect(url_for("customers.detail", customer_id=customer.id))
    return render_template("customers/new.html", form=form), 422 if form.errors else 200


@bp.route("/<int:customer_id>/edit", methods=["GET", "POST"])
@login_required
def edit(customer_id):
    """A customer corrected: name, region, seller, contacts."""
    require_role(current_user, *HQ_ROLES)
    customer = get_or_404(Customer, customer_id, current_user)
    form = CustomerForm(obj=customer)
    if request.method == "GET":
        form.sold_by_partner_id.data = "" if customer.sold_by.is_hq else str(customer.sold_by_party_id)
    if form.validate_on_submit():
        values = {name: form[name].data for name in service.CUSTOMER_FIELDS}
        values["sold_by_partner_id"] = chosen_id(form.sold_by_partner_id.data)
        try:
            changed = service.update_customer(customer, values, now_utc(), current_user.id)
        except DomainError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            flash(_("Customer saved: %(count)d changed.", count=len(changed)), "success")
            return redirect(url_for("customers.detail", customer_id=customer.id))
    return render_template("customers/edit.html", form=form, customer=customer), 422 if form.errors else 200


def contract_form(formdata=None, form_class=ContractForm, obj=None) -> ContractForm:
    form = form_class(formdata=formdata, obj=obj) if formdata is not None else form_class(obj=obj)
    form.product_lines.choices = product_line_choices(active_product_lines())
    chinese = ui_language() == "zh_CN"
    form.sla_policy.choices = [(p.code, p.name_zh if chinese else p.name_en) for p in
                               db.session.execute(sa.select(SlaPolicy).order_by(SlaPolicy.id)).scalars()]
    return form


@bp.get("/<int:customer_id>")
@login_required
def detail(customer_id):
    require_role(current_user, *HQ_ROLES)
    return render_detail(get_or_404(Customer, customer_id, current_user))


def render_detail(customer: Customer, form: ContractForm | None = None, payment: tuple | None = None):
    """The customer, its contracts with where their service stands today, its latest tickets, and
    the forms (with errors, when one was refused: `payment` is (contract id, form))."""
    today, settings = today_in_china(), load_settings()
    contracts = sorted(customer.contracts, key=lambda c: (c.starts_on, c.id), reverse=True)
    status = {c.id: service.service_status(c, today, settings) for c in contracts}
    proposed = {c.id: service.next_paid_until(c, today, settings) for c in contracts}
    payment_forms = {c.id: ServicePaymentForm(formdata=None, paid_until=proposed[c.id]) for c in contracts}
    if payment:
        payment_forms[payment[0]] = payment[1]
    tickets = db.session.execute(sa.select(Ticket).where(Ticket.customer_id == customer.id)
                                 .order_by(Ticket.id.desc()).limit(20)).scalars().all()
    failed = bool((form and form.errors) or (payment and payment[1].errors))
    return render_template(
        "customers/detail.html", customer=customer, contracts=contracts, status=status, tickets=tickets,
        contract_form=form or contract_form(), payment_forms=payment_forms,
        can_record_payment=current_user.role in MANAGER_ROLES,
        fee_rate=settings["service_fee_rate"], free_months=settings["free_service_months"]), 422 if failed else 200


@bp.post("/<int:customer_id>/contracts")
@login_required
def add_contract(customer_id):
    require_role(current_user, *HQ_ROLES)
    customer = get_or_404(Customer, customer_id, current_user)
    form = contract_form(request.form)
    if form.validate_on_submit():
        values = {name: form[name].data for name in ("number", "product_lines", "value", "starts_on",
                                                     "service_paid_until", "sla_policy")}
        try:
            contract = service.create_contract(customer, values, now_utc(), current_user.id)
        except DomainError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            flash(_("Contract %(number)s added.", number=contract.number), "success")
            return redirect(url_for("customers.detail", customer_id=customer.id))
    return render_detail(customer, form=form)


@bp.route("/contracts/<int:contract_id>/edit", methods=["GET", "POST"])
@login_required
def edit_contract(contract_id):
    """A contract corrected: number, product lines, value, start, SLA policy."""
    require_role(current_user, *HQ_ROLES)
    contract = get_or_404(Contract, contract_id, current_user)
    form = contract_form(request.form if request.method == "POST" else None, ContractEditForm, contract)
    if request.method == "GET":
        form.product_lines.data = [line.code for line in contract.product_lines]
        form.sla_policy.data = contract.sla_policy.code
    if form.validate_on_submit():
        values = {name: form[name].data for name in ("number", "product_lines", "value", "starts_on", "sla_policy")}
        try:
            changed = service.update_contract(contract, values, now_utc(), current_user.id)
        except DomainError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            flash(_("Contract %(number)s saved: %(count)d changed.", number=contract.number, count=len(changed)),
                  "success")
            return redirect(url_for("customers.detail", customer_id=contract.customer_id))
    return render_template("customers/contract_edit.html", form=form, contract=contract), 422 if form.errors else 200


@bp.post("/contracts/<int:contract_id>/service-payment")
@login_required
def record_service_payment(contract_id):
    """Annual service fees received: the contract's service is paid up to a later day."""
    require_role(current_user, *MANAGER_ROLES)
    contract = get_or_404(Contract, contract_id, current_user)
    form = ServicePaymentForm()
    if form.validate_on_submit():
        try:
            service.record_service_payment(contract, form.paid_until.data, today_in_china(), load_settings(),
                                           current_user.id, now_utc())
        except DomainError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            flash(_("Contract %(number)s: service paid until %(day)s.", number=contract.number,
                    day=contract.service_paid_until.isoformat()), "success")
            return redirect(url_for("customers.detail", customer_id=contract.customer_id))
    return render_detail(contract.customer, payment=(contract.id, form))


@bp.get("/export.<any(csv, xlsx):format>")
@login_required
def export(format):  # noqa: A002 (the URL's name for it, as on the network's exports)
    """Every customer with its contacts, address and location notes (`flask customers import` reads it back)."""
    require_role(current_user, *HQ_ROLES)
    return download(format, customers_transfer.export(), "customers")


@bp.get("/search.json")
@login_required
def search_json():
    require_role(current_user, *HQ_ROLES)
    query = search_text()
    if not query:
        return jsonify([])
    customers = db.session.execute(
        scoped(sa.select(Customer).where(number_or_name(query, Customer.id, Customer.name)), Customer, current_user)
        .order_by(*by_name(Customer.name, Customer.name_sort), Customer.id).limit(15)).scalars()
    return jsonify([{"id": c.id, "name": c.name, "region_code": c.region_code, "region_name": c.region.name}
                    for c in customers])
