"""Form fields that more than one feature's forms use: a share typed in per cent, and a number
check that stops NaN and infinities before a range compares them."""
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from wtforms import DecimalField
from wtforms.validators import StopValidation


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
