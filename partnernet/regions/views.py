"""Browse and search the regions of China."""
from flask import Blueprint, abort, jsonify, render_template, request
from flask_login import login_required

from partnernet.extensions import db
from partnernet.regions import service
from partnernet.regions.models import Region
from partnernet.web import search_text

bp = Blueprint("regions", __name__, url_prefix="/regions")


@bp.get("/")
@login_required
def index():
    query = search_text()
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


@bp.get("/search.json")
@login_required
def search_json():
    """For the search-as-you-type region picker: 杭州, hangzhou or 3301 all find Hangzhou."""
    results = service.search(request.args.get("q", "")[:50], limit=15)
    parents = {r.code: r for r in db.session.execute(
        db.select(Region).where(Region.code.in_({r.parent_code for r in results if r.parent_code}))).scalars()}
    return jsonify([{"code": r.code, "name": r.name, "level": r.level,
                     "parent_name": parents[r.parent_code].name if r.parent_code in parents else None}
                    for r in results])
