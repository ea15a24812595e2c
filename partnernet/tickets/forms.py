"""Forms for opening and working tickets."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from partnernet.db_types import MAX_ID
from partnernet.labels import choices
from partnernet.network.models import TIERS
from partnernet.tickets.models import CHANNELS, COMPLEXITIES
from partnernet.tickets.service import DECLINE_REASONS, INTAKE_TIERS, RETURN_REASONS


class IntakeForm(FlaskForm):
    customer_id = IntegerField(_l("Customer"), validators=[DataRequired(message=_l("Choose a customer.")),
                                                           NumberRange(1, MAX_ID, message=_l("Choose a customer."))])
    product_line = SelectField(_l("Product line"))
    complexity = SelectField(_l("Complexity"), choices=choices(COMPLEXITIES))
    # Where service starts: L1, or L2 by the agent's judgement. L3 (on-site) comes by the owner's
    # escalation: the service refuses it with the reason (so the choice is checked there).
    tier = SelectField(_l("Service tier"), choices=choices(INTAKE_TIERS), default="L1", validate_choice=False)
    channel = SelectField(_l("Channel"), choices=choices(CHANNELS))
    region_code = HiddenField(_l("Region"))
    subject = StringField(_l("Subject"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=10000)])


class AcceptForm(FlaskForm):
    engineer_id = SelectField(_l("Engineer"), coerce=int)


# The reasons' codes are checked by the service, which names the field; these forms check the
# notes (required, at most 2000 characters).
class DeclineForm(FlaskForm):
    reason_code = SelectField(_l("Reason"), choices=choices(DECLINE_REASONS), validate_choice=False)
    note = TextAreaField(_l("Note"), validators=[DataRequired(), Length(max=2000)])


class ReturnForm(FlaskForm):
    reason_code = SelectField(_l("Reason"), choices=choices(RETURN_REASONS), validate_choice=False, id="return_reason")
    note = TextAreaField(_l("Note"), validators=[DataRequired(), Length(max=2000)])


class StatusForm(FlaskForm):
    status = SelectField(_l("Next step"), validate_choice=False)  # the service checks the step
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=5000)])


class ReassignForm(FlaskForm):
    engineer_id = SelectField(_l("Engineer"), coerce=int)


class OfferByHandForm(FlaskForm):
    party_id = IntegerField(_l("Partner id"), validators=[DataRequired(), NumberRange(1, MAX_ID)])
    override_reason = TextAreaField(_l("Reason to offer without a certified engineer"), validators=[Optional(), Length(max=2000)])


class EscalateForm(FlaskForm):
    """The holder's escalation: first a preview (billable? stays or moves on?), then the confirmation."""
    tier = SelectField(_l("Escalate to"), choices=choices(TIERS), validate_choice=False, id="escalate_tier")
    reason = TextAreaField(_l("Why"), validators=[DataRequired(), Length(max=2000)], id="escalate_reason")
    accept_billable = BooleanField(_l("I accept that the ticket becomes billable"))
    confirm = HiddenField(default="")
