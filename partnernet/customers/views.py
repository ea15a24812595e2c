"""Customer search for HQ's ticket intake."""
import sqlalchemy as sa
from flask import Blueprint, jsonify, request
from flask_login import current_user, login_required

from partnernet.api.fields import MAX_ID
from partnernet.auth.models import HQ_ROLES
from partnernet.auth.scope import require_role, scoped
from partnernet.customers.models import Customer
from partnernet.extensions import db

bp = Blueprint("customers", __name__, url_prefix="/customers")


@bp.get("/search.json")
@login_required
def search_json():
    require_role(current_user, *HQ_ROLES)
    query = request.args.get("q", "").strip()[:50]
    if not query:
        return jsonify([])
    # An id is ASCII digits a column can hold ("²" is a digit to str.isdigit, not to int()).
    by_id = query.isascii() and query.isdigit() and int(query) <= MAX_ID
    condition = Customer.id == int(query) if by_id else Customer.name.contains(query, autoescape=True)
    customers = db.session.execute(
        scoped(sa.select(Customer).where(condition), Customer, current_user).order_by(Customer.name).limit(15)
    ).scalars()
    return jsonify([{"id": c.id, "name": c.name, "region_code": c.region_code, "region_name": c.region.name}
                    for c in customers])
