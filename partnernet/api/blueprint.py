"""The /api/v1 blueprint: every request within its rate limits and authenticated by a bearer
token, every error in the shape of docs/api.md, and a failed request rolled back."""
import json
import math
import time
from functools import lru_cache
from http import HTTPStatus

import marshmallow as ma
from flask import current_app, g, request
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_smorest import Blueprint
from limits import parse
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException, TooManyRequests, Unauthorized

from partnernet.auth import tokens
from partnernet.api.spec import PREFIX
from partnernet.auth.models import User
from partnernet.errors import DomainError, error_response
from partnernet.extensions import db, limiter
from partnernet.timeclock import now_utc


class StrictParser(FlaskParser):
    """Unknown query parameters are refused like unknown body fields: a misspelt filter
    (`?stauts=open`) is a 422, not silently a list of everything."""

    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": ma.RAISE}

    def _get_schema(self, argmap, req):
        """One instance per schema class, not one per request: our schemas hold no request state,
        and marshmallow copies every declared field when it builds one."""
        if isinstance(argmap, type) and issubclass(argmap, ma.Schema):
            return schema_instance(argmap)
        return super()._get_schema(argmap, req)

    def _raw_load_json(self, req):
        """JSON nested deeper than Python's parser recurses ([[[[…) is refused like malformed JSON
        (400), not left to end the request as a RecursionError (500)."""
        try:
            return super()._raw_load_json(req)
        except RecursionError:
            raise json.JSONDecodeError("nested too deeply", "", 0) from None


@lru_cache(maxsize=None)
def schema_instance(schema_class: type[ma.Schema]) -> ma.Schema:
    return schema_class()


class ApiBlueprint(Blueprint):
    ARGUMENTS_PARSER = StrictParser()

    def route(self, rule, *, parameters=None, tags=None, **options):
        """Every operation's operationId is its view's name in lowerCamelCase (open_ticket:
        openTicket), which client generators turn into method names; `@blp.doc(operationId=…)`
        would override it."""
        register = super().route(rule, parameters=parameters, tags=tags, **options)

        def decorator(func):
            apidoc = func.__dict__.setdefault("_apidoc", {})
            apidoc.setdefault("manual_doc", {}).setdefault("operationId", operation_id(func.__name__))
            return register(func)

        return decorator


def operation_id(view_name: str) -> str:
    head, *rest = view_name.split("_")
    return head + "".join(word.capitalize() for word in rest)


blp = ApiBlueprint("api_v1", __name__, url_prefix=PREFIX, description="partnernet JSON API v1")

CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
         405: "method_not_allowed", 409: "conflict", 413: "payload_too_large", 415: "unsupported_media_type",
         422: "validation_failed"}


def api_user() -> User:
    return g.api_user


def bearer_secret() -> str | None:
    scheme, _sep, secret = request.headers.get("Authorization", "").partition(" ")
    return secret.strip() if scheme.lower() == "bearer" and secret.strip() else None


def token_key() -> str:
    """Whose requests count together against API_RATE_LIMIT_PER_TOKEN: a token's, by its hash (the
    limiter's storage never holds a secret); without a token, the address's."""
    secret = bearer_secret()
    return "token:" + tokens.token_hash(secret) if secret else "address:" + get_remote_address()


# Both checked by Flask-Limiter before the token is looked up, so a request over a limit costs no
# database query. Every endpoint of the API counts against the same two limits.
limiter.shared_limit(lambda: current_app.config["API_RATE_LIMIT_PER_TOKEN"], "api-token", key_func=token_key)(blp)
limiter.shared_limit(lambda: current_app.config["API_RATE_LIMIT_PER_ADDRESS"], "api-address")(blp)


def count_failed_token() -> None:
    """A token that authenticates nobody counts against its address (API_FAILED_TOKENS_PER_ADDRESS):
    past the limit the answer is 429 instead of 401. Counted after the look-up, so that a valid
    token from the same address (a colleague behind the same NAT) is still served."""
    if not limiter.enabled:
        return
    rate = parse(current_app.config["API_FAILED_TOKENS_PER_ADDRESS"])
    keys = ("api-failed-token", get_remote_address())
    if not limiter.limiter.hit(rate, *keys):
        reset_at, _remaining = limiter.limiter.get_window_stats(rate, *keys)
        raise TooManyRequests(retry_after=seconds_until(reset_at))


def seconds_until(moment: float) -> int:
    """Whole seconds from now until `moment` (an epoch time), at least 1: a Retry-After."""
    return max(1, math.ceil(moment - time.time()))


@blp.before_request
def authenticate():
    """The token's user is the request's user; the session cookie is never consulted."""
    secret = bearer_secret()
    user = tokens.user_for_token(secret, now_utc()) if secret else None
    if user is None:
        if secret:
            count_failed_token()
        raise Unauthorized(_("A valid API token is required: Authorization: Bearer <token>."))
    g.api_user = user
    g._login_user = user  # Flask-Login's current_user (the language, shared helpers) is the token's user


def default_message(status: int) -> str:
    if status == 403:
        return _("Your role may not do this.")
    if status == 404:
        return _("Not found.")
    if status == 413:
        return _("The request is too large.")
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def field_messages(messages) -> dict:
    """webargs' messages by location ({"json": {"tier": ["…"]}}) as one message per field
    ({"tier": "…"}); nested fields are dotted (product_lines.0), errors of a whole body "_schema"."""
    flat = {}

    def walk(value, name):
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(inner, f"{name}.{key}" if name else str(key))
        elif isinstance(value, list) and not all(isinstance(item, str) for item in value):
            for index, inner in enumerate(value):
                walk(inner, f"{name}.{index}" if name else str(index))
        else:
            flat[name or "_schema"] = " ".join(value) if isinstance(value, list) else str(value)

    for located in (messages.values() if isinstance(messages, dict) else [messages]):
        walk(located, "")
    return flat


@blp.errorhandler(DomainError)
def domain_error(error: DomainError):
    db.session.rollback()
    return error_response(error.status, error.code, error.message or default_message(error.status), error.fields)


@blp.errorhandler(HTTPException)
def http_error(error: HTTPException):
    db.session.rollback()
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    if "messages" in data:  # raised by webargs while parsing the request
        messages = data["messages"]
        if status == 400:  # the body is not JSON at all
            return error_response(400, "bad_request", _("The request body is not valid JSON."))
        return error_response(status, CODES.get(status, "http_error"), _("The request is not valid."),
                              field_messages(messages))
    response = error_response(status, CODES.get(status, "http_error"),
                              error.description if status == 401 else default_message(status))
    if status == 401:
        response[0].headers["WWW-Authenticate"] = "Bearer"
    return response


@blp.errorhandler(429)  # by its code: before the application's handler of 429 (the sign-in page's)
def rate_limited(error: TooManyRequests):
    """429 in the API's error shape, with Retry-After: when the count that refused the request
    starts again (Flask-Limiter's own refusals carry no retry_after; its limit that was hit does)."""
    seconds = getattr(error, "retry_after", None)
    if not isinstance(seconds, int):
        hit = limiter.current_limit
        seconds = seconds_until(hit.window.reset_time) if hit is not None else 1
    response = error_response(429, "rate_limited", _(
        "Too many requests. Wait %(seconds)d seconds and try again.", seconds=seconds))
    response[0].headers["Retry-After"] = str(seconds)
    return response


def documented_errors(*statuses: int):
    """Document the error responses an operation can give (401 and 429 always): in the OpenAPI
    document each is {"error": {"code", "message", "fields"}}.

    Documentation only: alt_response's documentation is kept on the view, but not its wrappers,
    which would otherwise run on every request, one call layer per status, doing nothing."""
    def decorator(function):
        documented = function
        for status in sorted({401, 429, *statuses}, reverse=True):
            documented = blp.alt_response(status, response=HTTPStatus(status).name)(documented)
        function._apidoc = documented._apidoc
        return function
    return decorator
