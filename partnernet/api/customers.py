"""/api/v1/customers and their contracts (HQ): thin endpoints over customers.service."""
import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from partnernet.api import schemas
from partnernet.api.blueprint import api_user, blp, documented_errors
from partnernet.api.pagination import keyset_page, page_schema
from partnernet.auth.models import HQ_ROLES, MANAGER_ROLES
from partnernet.customers import service
from partnernet.customers.models import Contract, Customer
from partnernet.scope import get_or_404, require_role, scoped
from partnernet.settings.service import load_settings
from partnernet.timeclock import now_utc, today_in_china

TAGS = ["customers"]


@blp.route("/customers", methods=["GET"], tags=TAGS)
@blp.arguments(schemas.CustomerListArgs, location="query")
@blp.response(200, page_schema(schemas.Customer))
@documented_errors(403, 422)
def list_customers(args):
    """Customers (HQ), optionally those whose name contains `q`."""
    user = api_user()
    require_role(user, *HQ_ROLES)
    statement = sa.select(Customer).options(selectinload(Customer.sold_by))
    query = (args.get("q") or "").strip()
    if query:
        statement = statement.where(Customer.name.contains(query, autoescape=True))
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
