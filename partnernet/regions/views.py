"""Browse and search the regions of China."""
from flask import Blueprint, abort, render_template, request
from flask_login import login_required

from partnernet.extensions import db
from partnernet.regions import service
from partnernet.regions.models import Region

bp = Blueprint("regions", __name__, url_prefix="/regions")


@bp.get("/")
@login_required
def index():
    query = request.args.get("q", "").strip()[:50]
    results = service.search(query, limit=50) if query else []
    return render_template("regions/index.html", query=query, results=results,
                           provinces=service.children(None) if not query else [])


@bp.get("/<code>")
@login_required
def detail(code):
    region = db.session.get(Region, code)
    if region is None:
        abort(404)
    return render_template("regions/detail.html", region=region,
                           chain=list(reversed(service.chain(code))), children=service.children(code))
