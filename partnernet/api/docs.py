"""/api/v1/docs: the interactive reference (Swagger UI, served from static/vendor), public like
the OpenAPI document it reads; calling the API from it still needs a token (Authorize)."""
from flask import Blueprint, render_template, url_for

bp = Blueprint("api_docs", __name__)


@bp.get("/api/v1/docs")
def reference():
    return render_template("api/docs.html", spec_url=url_for("api-docs.openapi_json"))
