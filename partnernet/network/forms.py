"""Forms of the partner network: partners, status, coverage, engineers, certifications."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (BooleanField, DateField, EmailField, HiddenField, IntegerField, PasswordField,
                     SelectField, SelectMultipleField, StringField, TextAreaField)
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from partnernet.labels import choices
from partnernet.network.models import CERTIFICATION_LEVELS, PARTNER_KINDS, TIERS


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def ends_after(start_field: str, message, strictly=False):
    def check(form, field):
        start = form[start_field].data
        if field.data and start and (field.data <= start if strictly else field.data < start):
            raise ValidationError(message)
    return check


class PartnerForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=128)])
    name_en = StringField(_l("English name"), validators=[Optional(), Length(max=128)])
    kind = SelectField(_l("Kind"), choices=choices(PARTNER_KINDS))
    province_code = SelectField(_l("Province"), validators=[DataRequired()])
    capacity = IntegerField(_l("Capacity (maximum open tickets)"), validators=[DataRequired(), NumberRange(min=1, max=10000)])
    tiers = MultiCheckboxField(_l("Tiers offered"), choices=list(TIERS), validators=[DataRequired()])
    contact_name = StringField(_l("Contact person"), validators=[Optional(), Length(max=64)])
    contact_phone = StringField(_l("Contact phone"), validators=[Optional(), Length(max=32)])
    contact_email = EmailField(_l("Contact e-mail"), validators=[Optional(), Email(), Length(max=255)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=255)])
    contract_start = DateField(_l("Contract start"), validators=[Optional()])
    contract_end = DateField(_l("Contract end"), validators=[
        Optional(), ends_after("contract_start", _l("The contract must end after it starts."))])


class StatusForm(FlaskForm):
    status = SelectField(_l("New status"))
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=2000)])


class CoverageForm(FlaskForm):
    region_code = StringField(_l("Region"), validators=[DataRequired(), Length(min=6, max=6)])
    all_product_lines = BooleanField(_l("All product lines"), default=True)
    product_lines = MultiCheckboxField(_l("Product lines"), choices=[])
    tiers = MultiCheckboxField(_l("Tiers"), choices=list(TIERS), validators=[DataRequired()])
    effective_from = DateField(_l("Effective from"), validators=[DataRequired()])
    effective_to = DateField(_l("Effective until"), validators=[
        Optional(), ends_after("effective_from", _l("Coverage must end after it starts."))])

    def validate_product_lines(self, field):
        if not self.all_product_lines.data and not field.data:
            raise ValidationError(_l("Choose product lines, or all."))


class EndCoverageForm(FlaskForm):
    coverage_id = HiddenField(validators=[DataRequired()])


class EngineerForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=64)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=32)])
    email = EmailField(_l("E-mail"), validators=[Optional(), Email(), Length(max=255)])
    active = BooleanField(_l("Active"), default=True)


class EngineerLoginForm(FlaskForm):
    email = EmailField(_l("Login e-mail"), validators=[DataRequired(), Email(), Length(max=255)])
    password = PasswordField(_l("Initial password"), validators=[DataRequired(), Length(max=256)])


class CertificationForm(FlaskForm):
    product_line = SelectField(_l("Product line"))
    level = SelectField(_l("Level"), choices=choices(CERTIFICATION_LEVELS))
    number = StringField(_l("Certificate number"), validators=[DataRequired(), Length(max=64)])
    issued_on = DateField(_l("Issued on"), validators=[DataRequired()])
    expires_on = DateField(_l("Expires on"), validators=[
        DataRequired(), ends_after("issued_on", _l("The expiry date must be after the issue date."), strictly=True)])
    scan = FileField(_l("Scanned certificate (PDF, PNG or JPEG, at most 5 MB)"))


class ReviewForm(FlaskForm):
    decision = SelectField(_l("Decision"), choices=["approve", "reject"])
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=2000)])


class RevokeForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=2000)])  # the service requires it
