"""User administration (hq_admin): the list, a user's role and whether it may sign in, a new
password for one who forgot theirs. The rules are in auth.service."""
import sqlalchemy as sa
from sqlalchemy.orm import joinedload
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from partnernet.auth.forms import NewUserForm, ResetPasswordForm, UserForm
from partnernet.auth.models import ROLES, User
from partnernet.auth.service import create_user, reset_password, roles_for, update_user
from partnernet.cursors import count_capped, cursor_page
from partnernet.errors import ValidationFailed
from partnernet.extensions import db
from partnernet.labels import choices
from partnernet.lookup import chosen_id
from partnernet.scope import get_or_404, require_role
from partnernet.web import first_page_instead, page_cursors, show_errors

bp = Blueprint("users", __name__, url_prefix="/users")


@bp.get("/")
@login_required
def index():
    require_role(current_user, "hq_admin")
    if "page" in request.args:
        return first_page_instead("users.index")
    q = request.args.get("q", "")[:100].strip()
    role = request.args.get("role", "") if request.args.get("role") in ROLES else ""
    statement = sa.select(User)
    if q:
        statement = statement.where(sa.or_(User.email.contains(q.lower(), autoescape=True),
                                           User.name.contains(q, autoescape=True)))
    if role:
        statement = statement.where(User.role == role)
    page = cursor_page(statement.options(joinedload(User.party)), [(User.email, False), (User.id, False)], "users",
                       *page_cursors())
    return render_template("users/index.html", page=page, count=count_capped(statement), q=q, role=role, roles=ROLES)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    """An HQ user, or a partner's administrator (a new partner's first login)."""
    require_role(current_user, "hq_admin")
    form = NewUserForm()
    form.role.choices = choices(NEW_USER_ROLES)
    if form.validate_on_submit():
        party_id = chosen_id(form.partner_id.data) if form.role.data == "partner_admin" else None
        try:
            if form.role.data == "partner_admin" and party_id is None:
                raise ValidationFailed(_("The user cannot be created."), {"partner_id": _("Choose the partner.")})
            user = create_user(form.email.data, form.name.data, form.role.data, form.password.data,
                               party_id=party_id, actor=current_user)
        except ValidationFailed as error:
            db.session.rollback()
            show_errors(form, error, FORM_FIELD)
        else:
            flash(_("%(email)s can now sign in.", email=user.email), "success")
            return redirect(url_for("users.edit", user_id=user.id))
    return render_template("users/new.html", form=form), 422 if form.errors else 200


# Engineers get their login on their engineer page, bound to their record.
NEW_USER_ROLES = tuple(role for role in ROLES if role != "engineer")
FORM_FIELD = {"party_id": "partner_id", "engineer_id": "role"}  # the service's field names on this form


@bp.route("/<int:user_id>", methods=["GET", "POST"])
@login_required
def edit(user_id):
    require_role(current_user, "hq_admin")
    user = get_or_404(User, user_id, current_user)
    form = UserForm(obj=user)
    form.role.choices = choices(roles_for(user))
    if form.validate_on_submit():
        try:
            update_user(user, current_user, form.role.data, form.active.data)
        except ValidationFailed as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            flash(_("User saved."), "success")
            return redirect(url_for("users.edit", user_id=user.id))
    return render_edit(user, form, ResetPasswordForm())


@bp.post("/<int:user_id>/password")
@login_required
def new_password(user_id):
    require_role(current_user, "hq_admin")
    user = get_or_404(User, user_id, current_user)
    password_form = ResetPasswordForm()
    if password_form.validate_on_submit():
        try:
            reset_password(user, password_form.password.data, current_user)
        except ValidationFailed as error:
            db.session.rollback()
            show_errors(password_form, error)
        else:
            flash(_("New password set; %(email)s was signed out everywhere.", email=user.email), "success")
            return redirect(url_for("users.edit", user_id=user.id))
    form = UserForm(obj=user, formdata=None)
    form.role.choices = choices(roles_for(user))
    return render_edit(user, form, password_form)


def render_edit(user: User, form: UserForm, password_form: ResetPasswordForm):
    failed = form.errors or password_form.errors
    return render_template("users/edit.html", user=user, form=form, password_form=password_form), 422 if failed else 200
