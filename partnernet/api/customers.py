"""/api/v1/customers and their contracts (HQ): thin endpoints over customers.service."""
import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from partnernet.api import schemas
from partnernet.api.blueprint import api_user, blp, documented_errors
from partnernet.api.pagination import ListArgs, keyset_page, page_schema
from partnernet.auth.models import HQ_ROLES, MANAGER_ROLES
from partnernet.customers import service
from partnernet.customers.models import Contract, Customer
from partnernet.extensions import db
from partnernet.network.models import TIERS
from partnernet.regions import service as regions
from partnernet.regions.models import Region
from partnernet.scope import get_or_404, require_role, scoped
from partnernet.settings.service import load_settings
from partnernet.tickets.service import default_tier, entitlement
from partnernet.timeclock import now_utc, today_in_china

TAGS = ["customers"]


@blp.route("/customers", methods=["GET"], tags=TAGS)
@blp.arguments(schemas.CustomerListArgs, location="query")
@blp.response(200, page_schema(schemas.Customer))
@documented_errors(403, 422)
def list_customers(args):
    """Customers (HQ), optionally those whose name contains `q`, those at or under a `region`."""
    user = api_user()
    require_role(user, *HQ_ROLES)
    statement = sa.select(Customer).options(selectinload(Customer.sold_by))
    query = (args.get("q") or "").strip()
    if query:
        statement = statement.where(Customer.name.contains(query, autoescape=True))
    if args.get("region"):
        region = db.session.get(Region, args["region"])
        statement = statement.where(regions.at_or_under(region, Customer.region_code) if region else sa.false())
    return keyset_page(scoped(statement, Customer, user).order_by(Customer.id), Customer.id, args)


@blp.route("/customers", methods=["POST"], tags=TAGS)
@blp.arguments(schemas.CustomerIn)
@blp.response(201, schemas.Customer)
@documented_errors(400, 403, 422)
def create_customer(data):
    """A new customer (HQ)."""
    require_role(api_user(), *HQ_ROLES)
    return service.create_customer(data, now_utc(), api_user().id)


@blp.route("/customers/<id:customer_id>", methods=["GET"], tags=TAGS)
@blp.response(200, schemas.Customer)
@documented_errors(403, 404)
def get_customer(customer_id):
    """One customer (HQ)."""
    user = api_user()
    require_role(user, *HQ_ROLES)
    return get_or_404(Customer, customer_id, user)


def with_entitlement(contract: Contract, today, settings: dict) -> Contract:
    """The contract with what intake would apply to a ticket under it today (tickets.service's rules)."""
    status = service.service_status(contract, today, settings)
    contract.entitlement = {
        "service": status.state, "covered_until": status.covered_until, "annual_fee": status.annual_fee,
        "onsite_included": entitlement(contract, "L3", today, settings)[1] != "onsite_not_included",
        "default_tier": default_tier("api"),
        "billable_tiers": {tier: entitlement(contract, tier, today, settings)[1] for tier in TIERS}}
    return contract


@blp.route("/customers/<id:customer_id>/contracts", methods=["GET"], tags=TAGS)
@blp.arguments(ListArgs, location="query")
@blp.response(200, page_schema(schemas.ContractWithEntitlement))
@documented_errors(403, 404, 422)
def list_contracts(args, customer_id):
    """A customer's contracts (HQ), each with the entitlement intake would apply today: the
    service's state, whether on-site is included, the default tier, and per tier why a ticket
    would be billable."""
    user = api_user()
    require_role(user, *HQ_ROLES)
    customer = get_or_404(Customer, customer_id, user)
    statement = (sa.select(Contract).where(Contract.customer_id == customer.id)
                 .options(selectinload(Contract.product_lines), selectinload(Contract.sla_policy),
                          selectinload(Contract.sold_by)).order_by(Contract.id))
    page = keyset_page(statement, Contract.id, args)
    today, settings = today_in_china(), load_settings()
    page["items"] = [with_entitlement(contract, today, settings) for contract in page["items"]]
    return page


@blp.route("/customers/<id:customer_id>/contracts", methods=["POST"], tags=TAGS)
@blp.arguments(schemas.ContractIn)
@blp.response(201, schemas.Contract)
@documented_errors(400, 403, 404, 422)
def create_contract(data, customer_id):
    """A contract of the customer (HQ): the first year of service is free, then while paid up."""
    user = api_user()
    require_role(user, *HQ_ROLES)
    customer = get_or_404(Customer, customer_id, user)
    return service.create_contract(customer, data, now_utc(), user.id)


@blp.route("/contracts/<id:contract_id>/service-payments", methods=["POST"], tags=TAGS)
@blp.arguments(schemas.ServicePaymentIn)
@blp.response(200, schemas.Contract)
@documented_errors(400, 403, 404, 422)
def record_service_payment(data, contract_id):
    """Annual service fees received (hq_admin, hq_manager): the contract's service is paid up to
    `paid_until`. Tickets of an entitled customer are not billable."""
    user = api_user()
    require_role(user, *MANAGER_ROLES)
    contract = get_or_404(Contract, contract_id, user)
    return service.record_service_payment(contract, data["paid_until"], today_in_china(), load_settings(), user.id,
                                          now_utc())
