"""Which language a request is served in: the user's choice, then the session's, then the browser's."""
from flask import has_request_context, request, session
from flask_babel import refresh
from flask_login import current_user

from partnernet.config import LANGUAGES


def select_locale() -> str:
    if not has_request_context():
        return "en"  # command-line output and logs
    if request.path.startswith("/api/") and request.accept_languages:
        # An integration asks per request (docs/api.md); its user's own language is the fallback.
        asked = request.accept_languages.best_match(LANGUAGES)
        if asked:
            return asked
    if current_user.is_authenticated and current_user.locale in LANGUAGES:
        return current_user.locale
    if session.get("locale") in LANGUAGES:
        return session["locale"]
    return request.accept_languages.best_match(LANGUAGES, default="zh_CN")


def refresh_babel() -> None:
    refresh()
