"""Our own exceptions, and the one place they become pages (UI) or JSON errors (API)."""
from flask import jsonify, render_template, request, session
from flask_babel import force_locale, gettext as _
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException

from partnernet.config import LANGUAGES
from partnernet.extensions import db

# PostgreSQL's SQLSTATEs for a server going away or not back yet, besides class 08 (connection
# exceptions): shut down by the administrator or a crash, still starting, too many connections.
SERVER_UNAVAILABLE = ("57P01", "57P02", "57P03", "53300")


# Every `error.code` the JSON API answers with (declared as the enum of ErrorDetail.code).
ERROR_CODES = (
    "bad_request", "unauthorized", "forbidden", "not_found", "method_not_allowed", "conflict",
    "invalid_transition", "payload_too_large", "unsupported_media_type", "validation_failed",
    "idempotency_key_reused", "rate_limited", "internal_error", "database_unavailable", "database_not_ready",
    "http_error", "pdf_unavailable",
)


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str = "", fields: dict | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class NotFound(DomainError):
    status, code = 404, "not_found"


class Forbidden(DomainError):
    status, code = 403, "forbidden"


class Conflict(DomainError):
    status, code = 409, "conflict"


class InvalidTransition(Conflict):
    code = "invalid_transition"


class ValidationFailed(DomainError):
    status, code = 422, "validation_failed"


def wants_json() -> bool:
    return request.path.startswith("/api/")


def error_response(status: int, code: str, message: str, fields: dict | None = None):
    if wants_json():
        return jsonify({"error": {"code": code, "message": message, "fields": fields or {}}}), status
    template = {403: "errors/403.html", 404: "errors/404.html"}.get(status, "errors/error.html")
    return render_template(template, status=status, message=message), status


def database_unavailable(error: sa_exc.DBAPIError) -> bool:
    """The database server went away or is (re)starting: the same request may succeed shortly.
    (A client-side psycopg error carries no SQLSTATE: the connection failed or was lost.)"""
    if error.connection_invalidated:
        return True
    if not type(error.orig).__module__.startswith("psycopg"):
        return False  # SQLite is a file, not a server that restarts
    state = getattr(error.orig, "sqlstate", None)
    return state is None or state.startswith("08") or state in SERVER_UNAVAILABLE


def unavailable_response():
    """503 without touching the database again: the language from the cookie or the browser,
    not from the signed-in user, and for pages a plain one without the layout (which reads the user)."""
    language = session.get("locale") if session.get("locale") in LANGUAGES else \
        request.accept_languages.best_match(LANGUAGES, default="zh_CN")
    with force_locale(language):
        message = _("The database is unavailable for a moment. Please try again shortly.")
    if wants_json():
        response = jsonify({"error": {"code": "database_unavailable", "message": message, "fields": {}}})
    else:
        response = render_template("errors/unavailable.html", message=message, language=language)
    return response, 503, {"Retry-After": "2"}


def end_session(_error=None):
    """End the request's transaction before the session is removed. When the server has dropped
    the connection (a restart), rolling back raises; the answer is already made, so the dead
    connection is discarded instead of turning that answer into a 500."""
    try:
        db.session.rollback()
    except sa_exc.DBAPIError:
        db.session().invalidate()  # (the scoped_session does not proxy invalidate)


def register_error_handlers(app):
    app.teardown_appcontext(end_session)  # runs before Flask-SQLAlchemy's removal (registered earlier)

    @app.errorhandler(DomainError)
    def domain_error(error):
        return error_response(error.status, error.code, error.message, error.fields)

    @app.errorhandler(HTTPException)
    def http_error(error):
        code = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                405: "method_not_allowed", 409: "conflict", 413: "payload_too_large", 422: "validation_failed"}.get(
            error.code, "http_error")
        if error.code == 413:  # MAX_CONTENT_LENGTH, or a form field over MAX_FORM_MEMORY_SIZE
            return error_response(413, code, _("The request is too large."))
        if wants_json() and error.code in (404, 405):  # a path or method no route of the API has
            return error_response(error.code, code, _("Not found.") if error.code == 404 else _(
                "This path does not take the method %(method)s.", method=request.method))
        return error_response(error.code, code, error.description or "")

    @app.errorhandler(sa_exc.OperationalError)
    @app.errorhandler(sa_exc.ProgrammingError)
    def database_error(error):
        if database_unavailable(error):
            app.logger.warning("database unavailable on %s %s: %s", request.method, request.path, error.orig)
            return unavailable_response()
        text = str(error.orig).lower()
        if "no such table" in text or "does not exist" in text:
            app.logger.error("the database is not migrated: %s", error.orig)
            return error_response(503, "database_not_ready", _(
                "The database is not set up yet. Run: flask --app wsgi db upgrade"))
        return unexpected_error(error)

    @app.errorhandler(Exception)
    def unexpected_error(error):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        # A failed flush leaves the session unusable; the error page itself reads the database
        # (the navigation's unread count), so start it afresh or the page fails too.
        db.session.rollback()
        return error_response(500, "internal_error", _("Something went wrong on our side."))
