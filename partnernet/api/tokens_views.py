"""The profile page: who you are, which notifications you get by e-mail, and your API tokens
(created, shown once, revoked)."""
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from partnernet.auth import tokens
from partnernet.errors import DomainError
from partnernet.extensions import db
from partnernet.notifications import service as notifications
from partnernet.notifications.kinds import KINDS
from partnernet.timeclock import now_utc

bp = Blueprint("profile", __name__, url_prefix="/profile")


class TokenForm(FlaskForm):
    name = StringField(_l("Token name"), validators=[DataRequired(), Length(max=64)])


def render_profile(form: TokenForm, new_secret: str | None = None, status: int = 200):
    return render_template("auth/profile.html", form=form, tokens=tokens.tokens_of(current_user),
                           new_secret=new_secret, email_kinds=KINDS,
                           not_by_email=notifications.email_opt_outs(current_user.id),
                           smtp_configured=notifications.smtp_configured()), status


@bp.get("")
@login_required
def index():
    return render_profile(TokenForm())


@bp.post("/tokens")
@login_required
def create_token():
    form = TokenForm()
    if not form.validate_on_submit():
        return render_profile(form, status=422)
    try:
        _token, secret = tokens.issue_token(current_user, form.name.data, now_utc(), current_user)
    except DomainError as error:
        db.session.rollback()
        form.name.errors = list(form.name.errors) + list(error.fields.values())
        return render_profile(form, status=422)
    # Shown in this response only: never stored, never put in a flash message (the session cookie).
    return render_profile(TokenForm(formdata=None), new_secret=secret)


@bp.post("/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id):
    tokens.revoke_token(tokens.own_token(current_user, token_id), now_utc(), current_user)
    flash(_("Token revoked: requests that carry it are refused from now on."), "success")
    return redirect(url_for("profile.index"))
