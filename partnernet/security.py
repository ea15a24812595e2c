"""HTTP security headers on every response: a Content-Security-Policy without inline scripts,
no framing, no content sniffing, a strict referrer policy. And input no page may take (NUL)."""
from flask import request
from flask_babel import gettext as _
from werkzeug.exceptions import BadRequest

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


def add_security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    return response


def register_security_headers(app):
    app.after_request(add_security_headers)


def refuse_nul_characters():
    """A page's path, query or form carrying a NUL character is refused whole (400) before any view sees
    it: PostgreSQL cannot store NUL in text, and nobody types one. (The API's fields refuse it
    one by one, with the field named.)"""
    if request.path.startswith("/api/"):
        return
    texts = [request.path] + [text for pairs in (request.args, request.form) for item in pairs.items(multi=True)
                              for text in item]
    texts += [upload.filename or "" for _name, upload in request.files.items(multi=True)]
    if any("\x00" in text for text in texts):
        raise BadRequest(_("The request is not valid."))


def register_input_checks(app):
    app.before_request(refuse_nul_characters)
