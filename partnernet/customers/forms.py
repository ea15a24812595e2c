"""HQ's customer forms: a new customer, a contract, annual service fees received."""
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, DecimalField, EmailField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional, StopValidation

from partnernet.network.forms import MultiCheckboxField, ends_after


def an_amount(form, field):
    """A contract value in CNY: more than zero, below what the column holds; NaN and infinity are
    not amounts (and would raise in NumberRange)."""
    if field.data is None or not field.data.is_finite() or not Decimal("0.01") <= field.data < Decimal(10) ** 12:
        raise StopValidation(_l("Give an amount of more than zero, in yuan."))


class CustomerForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=128)])
    region_code = HiddenField(_l("Region"), validators=[DataRequired(_l("Choose the customer's region.")),
                                                         Length(min=6, max=6)])
    sold_by_partner_id = HiddenField(_l("Sold by"), validators=[Optional()])
    contact_name = StringField(_l("Contact"), validators=[Optional(), Length(max=64)])
    contact_phone = StringField(_l("Phone"), validators=[Optional(), Length(max=32)])
    contact_email = EmailField(_l("E-mail"), validators=[Optional(), Email(), Length(max=255)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=255)])
    location_notes = TextAreaField(_l("How to find it (building, floor, gate, parking)"),
                                   validators=[Optional(), Length(max=2000)])


class ContractForm(FlaskForm):
    number = StringField(_l("Contract number (empty: one is generated)"), validators=[Optional(), Length(max=32)])
    product_lines = MultiCheckboxField(_l("Product lines"), choices=[], validators=[DataRequired()])
    value = DecimalField(_l("Contract value, CNY"), places=2,
                         validators=[InputRequired(), an_amount])
    starts_on = DateField(_l("Starts on"), validators=[DataRequired()])
    service_paid_until = DateField(_l("Service fees paid until (optional)"), validators=[
        Optional(), ends_after("starts_on", _l("Service cannot be paid until before the contract starts."))])
    sla_policy = SelectField(_l("SLA policy"), choices=[])


class ContractEditForm(ContractForm):
    """A contract corrected; fees received are recorded on their own (ServicePaymentForm)."""
    service_paid_until = None


class ServicePaymentForm(FlaskForm):
    paid_until = DateField(_l("Service now paid until"), validators=[DataRequired()])
