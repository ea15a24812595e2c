"""Our own exceptions, and the one place they become pages (UI) or JSON errors (API)."""
from flask import jsonify, render_template, request
from flask_babel import gettext as _
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException


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


def register_error_handlers(app):
    @app.errorhandler(DomainError)
    def domain_error(error):
        return error_response(error.status, error.code, error.message, error.fields)

    @app.errorhandler(HTTPException)
    def http_error(error):
        code = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                405: "method_not_allowed", 409: "conflict", 422: "validation_failed"}.get(
            error.code, "http_error")
        return error_response(error.code, code, error.description or "")

    @app.errorhandler(sa_exc.OperationalError)
    @app.errorhandler(sa_exc.ProgrammingError)
    def database_error(error):
        text = str(error.orig).lower()
        if "no such table" in text or "does not exist" in text:
            app.logger.error("the database is not migrated: %s", error.orig)
            return error_response(503, "database_not_ready", _(
                "The database is not set up yet. Run: flask --app wsgi db upgrade"))
        return unexpected_error(error)

    @app.errorhandler(Exception)
    def unexpected_error(error):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", _("Something went wrong on our side."))
