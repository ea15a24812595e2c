"""Forms of the audit pages: starting a run, deciding on a finding, the partner's answer."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, NumberRange, ValidationError

from partnernet.audit.models import DECISIONS
from partnernet.audit.service import RESPONSE_MAX_LENGTH
from partnernet.form_fields import PercentField
from partnernet.web import FIRST_DAY, LAST_DAY


def within_days_the_api_takes(form, field):
    """The API's range (1970–2099): the measures turn the period into instants, which year 1 is not."""
    if field.data and not FIRST_DAY <= field.data <= LAST_DAY:
        raise ValidationError(_l("Give a date between %(first)s and %(last)s.", first=FIRST_DAY, last=LAST_DAY))




class RunForm(FlaskForm):
    period_start = DateField(_l("From"), validators=[DataRequired(), within_days_the_api_takes])
    period_end = DateField(_l("To (inclusive)"), validators=[DataRequired(), within_days_the_api_takes])
    threshold = PercentField(_l("Push-back threshold, per cent of offers (e.g. 20)"), [InputRequired()])
    min_offers = IntegerField(_l("Minimum volume (offers, or sold tickets)"),
                              validators=[InputRequired(), NumberRange(min=0, max=1000000)])
    sold_not_served_threshold = PercentField(_l("Sold-not-served threshold, per cent of sold tickets (e.g. 30)"),
                                             [InputRequired()])


class DecisionForm(FlaskForm):
    # No decision is preselected: the manager chooses one ("" is the empty first option).
    decision = SelectField(_l("Decision"), choices=["", *DECISIONS], validate_choice=False,
                           validators=[AnyOf(DECISIONS, message=_l("Choose a decision."))])  # shown through `label`
    note = TextAreaField(_l("Note"), validators=[DataRequired(), Length(max=2000)])


class ResponseForm(FlaskForm):
    text = TextAreaField(_l("Your answer"), validators=[DataRequired(), Length(max=RESPONSE_MAX_LENGTH)])
