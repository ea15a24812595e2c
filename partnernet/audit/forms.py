"""Forms of the audit pages: starting a run, deciding on a finding, the partner's answer."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, DecimalField, IntegerField, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, StopValidation, ValidationError

from partnernet.api.fields import Day
from partnernet.audit.models import DECISIONS
from partnernet.audit.service import RESPONSE_MAX_LENGTH


def within_days_the_api_takes(form, field):
    """The API's range (1970–2099): the measures turn the period into instants, which year 1 is not."""
    if field.data and not Day.FIRST <= field.data <= Day.LAST:
        raise ValidationError(_l("Give a date between %(first)s and %(last)s.", first=Day.FIRST, last=Day.LAST))


def finite(form, field):
    """NaN and infinities are not shares; stop before NumberRange compares them (a signalling NaN
    would raise there)."""
    if field.data is not None and not field.data.is_finite():
        raise StopValidation(_l("Give a number between 0 and 1."))


class RunForm(FlaskForm):
    period_start = DateField(_l("From"), validators=[DataRequired(), within_days_the_api_takes])
    period_end = DateField(_l("To (inclusive)"), validators=[DataRequired(), within_days_the_api_takes])
    threshold = DecimalField(_l("Push-back threshold (share of offers, e.g. 0.20)"), places=None,
                             validators=[InputRequired(), finite, NumberRange(min=0, max=1)])
    min_offers = IntegerField(_l("Minimum volume (offers, or sold tickets)"),
                              validators=[InputRequired(), NumberRange(min=0, max=1000000)])
    sold_not_served_threshold = DecimalField(_l("Sold-not-served threshold (share, e.g. 0.30)"), places=None,
                                             validators=[InputRequired(), finite, NumberRange(min=0, max=1)])


class DecisionForm(FlaskForm):
    decision = SelectField(_l("Decision"), choices=list(DECISIONS))  # shown through the `label` filter
    note = TextAreaField(_l("Note"), validators=[DataRequired(), Length(max=2000)])


class ResponseForm(FlaskForm):
    text = TextAreaField(_l("Your answer"), validators=[DataRequired(), Length(max=RESPONSE_MAX_LENGTH)])
