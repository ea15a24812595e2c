"""HQ's settings forms: calendar days, the calendar import, SLA policies."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, DecimalField, IntegerField, SelectField, StringField, TimeField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from partnernet.form_fields import PercentField, finite
from partnernet.network.models import PARTNER_KINDS
from partnernet.settings.service import SERVICE_FEE_RATE_RANGE


class CalendarDayForm(FlaskForm):
    day = DateField(_l("Date"), validators=[DataRequired()])
    is_working = SelectField(_l("Working day?"), choices=[SelectChoice("working", _l("working")), SelectChoice("off", _l("day off"))])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=64)])


class CalendarImportForm(FlaskForm):
    file = FileField(_l("CSV file with date,is_working[,note]"), validators=[FileRequired()])


class SlaPolicyForm(FlaskForm):
    day_start = TimeField(_l("Working day starts"), validators=[Optional()])
    day_end = TimeField(_l("Working day ends"), validators=[Optional()])
    response_minutes = IntegerField(_l("Response (minutes)"), validators=[DataRequired(), NumberRange(1, 100000)])
    resolution_simple_minutes = IntegerField(_l("Resolution, simple (minutes)"), validators=[DataRequired(), NumberRange(1, 100000)])
    resolution_complex_minutes = IntegerField(_l("Resolution, complex (minutes)"), validators=[DataRequired(), NumberRange(1, 100000)])


def whole(label, low, high):
    return IntegerField(label, validators=[InputRequired(), NumberRange(low, high)])


def share(label, low=0, high=100):
    """A share typed in per cent, stored as a fraction."""
    return PercentField(label, [InputRequired()], low=low, high=high)


class SettingsForm(FlaskForm):
    """The settings docs/design.md makes configurable (partnernet.settings.service.DEFAULTS)."""
    offer_deadline_minutes = whole(_l("Minutes a partner has to accept an offer (on the ticket's SLA clock)"), 1, 120)
    onsite_threshold_cny = DecimalField(_l("Contract value from which on-site service (L3) is included, CNY"),
                                        places=2, validators=[InputRequired(), finite, NumberRange(0, 10 ** 9)])
    free_service_months = whole(_l("Months of free service after a contract starts"), 0, 120)
    service_fee_rate = share(_l("Annual service fee, per cent of the contract value (15 to 20)"),
                             *(100 * bound for bound in SERVICE_FEE_RATE_RANGE))
    audit_threshold = share(_l("Audit: push-back threshold, per cent of offers (e.g. 20)"))
    audit_min_offers = whole(_l("Audit: minimum volume (offers, or sold tickets)"), 0, 1000000)
    audit_sold_not_served_threshold = share(_l("Audit: sold-not-served threshold, per cent of sold tickets (e.g. 30)"))
    certification_reminder_days = whole(_l("Days before a certificate expires to remind its engineer"), 1, 365)
    audit_satisfaction_threshold = share(_l("Audit: satisfaction threshold, per cent of answers rated 4 or 5 (e.g. 60)"))
    audit_satisfaction_min_answers = whole(_l("Audit: minimum rated answers for satisfaction"), 0, 1000000)
    callback_share = share(_l("Call-backs: random share of resolved tickets HQ calls, per cent (e.g. 10)"))
    remind_offer_half_way = BooleanField(_l("Remind a partner half-way through an offer nobody of it has opened"))
    tell_hq_expired_offers = BooleanField(_l("Tell HQ's group when an offer expires unanswered"))
    sla_warning_percent = whole(_l("Warn a ticket's owner at this per cent of its response and resolution time "
                                   "(0: no warnings; applies to tickets opened from now on)"), 0, 99)
    tell_hq_breaches = BooleanField(_l("Tell HQ's group when a ticket misses its response or resolution time"))


# Routing ranks partners of a level by kind: 1 first. One field per kind, added to the form.
for _kind in PARTNER_KINDS:
    setattr(SettingsForm, f"priority_{_kind}", whole(_l("Priority"), 1, 9))
