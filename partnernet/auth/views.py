"""Sign in, sign out, and the language switch."""
import unicodedata
from urllib.parse import urlsplit

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user

from partnernet.auth.forms import LanguageForm, LoginForm, PasswordForm
from partnernet.auth.models import User
from partnernet.auth.service import authenticate, change_password
from partnernet.errors import ValidationFailed
from partnernet.extensions import db, limiter, login_manager
from partnernet.web import show_errors

bp = Blueprint("auth", __name__)
login_manager.login_view = "auth.login"
login_manager.login_message = None


@login_manager.user_loader
def load_user(session_id: str):
    user_id, _sep, version = session_id.partition(":")
    if not user_id.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    # A password change bumps session_version, which signs out every older session.
    if user is None or str(user.session_version) != version:
        return None
    return user


@bp.before_app_request
def forget_cached_user():
    """Load the user from this request's session: an app context shared by several requests (tests,
    CLI) must not carry one request's user into the next."""
    g.pop("_login_user", None)


def safe_next(target: str | None) -> str | None:
    """Only same-site relative paths: never redirect a user off to another host after sign-in.
    No control characters (a CR/LF would split the Location header) and no backslash (browsers
    read `/\\host` as `//host`)."""
    if not target or "\\" in target or any(unicodedata.category(char) == "Cc" for char in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def failed_sign_in(response) -> bool:
    """A sign-in that did not redirect onwards failed; only failures count against the limits."""
    return request.method == "POST" and response.status_code != 302


def account() -> str:
    return (request.form.get("email") or "").strip().lower()[:255]


def account_from_address_key() -> str:
    return f"account:{account()}|address:{get_remote_address()}"


def account_key() -> str:
    return "account:" + account()


# Failed sign-ins are limited three ways. Ten per account from one address: someone guessing from
# one place stops there, and does not lock the real user (elsewhere) out. Thirty per address,
# whatever the accounts. Fifty per account from everywhere: a guess spread over many addresses
# is slowed too, at the price that such an attack can hold the real user up for a while.
@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per 15 minutes", key_func=account_from_address_key, methods=["POST"], deduct_when=failed_sign_in)
@limiter.limit("30 per 15 minutes", methods=["POST"], deduct_when=failed_sign_in)
@limiter.limit("50 per 15 minutes", key_func=account_key, methods=["POST"], deduct_when=failed_sign_in)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm(next=request.args.get("next"))
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is None:
            form.password.errors.append(_("The e-mail or the password is wrong."))
        else:
            locale = session.get("locale")
            session.clear()  # a fresh session on sign-in: nothing carried over from before
            login_user(user, remember=form.remember.data)
            if locale and not user.locale:
                session["locale"] = locale
            return redirect(safe_next(form.next.data) or url_for("home.index"))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.post("/language")
def set_language():
    form = LanguageForm()
    if form.validate_on_submit():
        session["locale"] = form.locale.data
        if current_user.is_authenticated:
            current_user.locale = form.locale.data  # the choice sticks to the user
            db.session.commit()
    return redirect(safe_next(form.next.data) or url_for("home.index"))


@bp.app_errorhandler(429)
def too_many_attempts(error):
    if request.endpoint == "auth.login":
        form = LoginForm()
        form.password.errors = [_("Too many failed sign-ins. Wait 15 minutes and try again.")]
        return render_template("auth/login.html", form=form), 429
    from partnernet.errors import error_response
    return error_response(429, "too_many_requests", _("Too many requests. Wait a little and try again."))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            change_password(current_user, form.current_password.data, form.new_password.data,
                            form.confirmation.data)
        except ValidationFailed as error:
            show_errors(form, error)
        else:
            user = current_user._get_current_object()
            session.clear()  # a new session for this browser; every other one is signed out
            login_user(user)
            flash(_("Password changed. You were signed out everywhere else."), "success")
            return redirect(url_for("home.index"))
    return render_template("auth/password.html", form=form), 422 if form.errors else 200
