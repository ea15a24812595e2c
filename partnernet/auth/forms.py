"""Sign-in and language forms."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, Length, Optional

from partnernet.config import LANGUAGES


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email(), Length(max=255)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])
    remember = BooleanField(_l("Keep me signed in"))
    next = HiddenField()
    submit = SubmitField(_l("Sign in"))


class LanguageForm(FlaskForm):
    locale = SelectField(_l("Language"), choices=LANGUAGES)
    next = HiddenField()


class PasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=256)])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=256)])
    confirmation = PasswordField(_l("New password again"), validators=[DataRequired(), Length(max=256)])


class UserForm(FlaskForm):
    role = SelectField(_l("Role"), validate_choice=False)  # choices per user: auth.service.roles_for
    active = BooleanField(_l("Active (may sign in and use API tokens)"))


class ResetPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=256)])


class NewUserForm(FlaskForm):
    """An hq_admin adds an HQ user or a partner's administrator (engineers get their login on
    their engineer page, bound to their record)."""
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email(), Length(max=255)])
    name = StringField(_l("Name"), validators=[Optional(), Length(max=64)])
    role = SelectField(_l("Role"))
    partner_id = HiddenField(_l("Partner (for a partner administrator)"), validators=[Optional()])
    password = PasswordField(_l("Initial password"), validators=[DataRequired(), Length(max=256)])
