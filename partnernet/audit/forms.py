"""Forms of the audit pages: starting a run, deciding on a finding, the partner's answer."""
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, DecimalField, IntegerField, SelectField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, NumberRange, StopValidation, ValidationError

from partnernet.audit.models import DECISIONS
from partnernet.audit.service import RESPONSE_MAX_LENGTH
from partnernet.web import FIRST_DAY, LAST_DAY


def within_days_the_api_takes(form, field):
    """The API's range (1970–2099): the measures turn the period into instants, which year 1 is not."""
    if field.data and not FIRST_DAY <= field.data <= LAST_DAY:
        raise ValidationError(_l("Give a date between %(first)s and %(last)s.", first=FIRST_DAY, last=LAST_DAY))


def finite(form, field):
    """NaN and infinities are not amounts; stop before NumberRange compares them (a signalling NaN
    would raise there)."""
    if field.data is not None and not field.data.is_finite():
        raise StopValidation(_l("Give a number."))


def plain(number: Decimal) -> str:
    """20, 12.5, 100: no trailing zeros, no exponent."""
    return format(number.normalize(), "f")


class PercentField(DecimalField):
    """A share typed and shown in per cent ("20", "20 %", "12.5"), held as the fraction (0.2) that
    the settings, the audit runs and the API store: only the page speaks in per cent."""

    def __init__(self, label=None, validators=None, low=0, high=100, **kwargs):
        super().__init__(label, validators, places=None, **kwargs)
        self.low, self.high = Decimal(low), Decimal(high)

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else plain(self.data * 100)

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        text = valuelist[0].strip().rstrip("%％").strip()
        self.data = None
        if not text:
            return  # InputRequired says what is missing
        try:
            percent = Decimal(text)
        except InvalidOperation:
            percent = None
        if percent is None or not percent.is_finite() or not self.low <= percent <= self.high:
            raise ValueError(_l("Give a percentage between %(low)s and %(high)s.",
                                low=plain(self.low), high=plain(self.high)))
        self.data = percent / 100


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
