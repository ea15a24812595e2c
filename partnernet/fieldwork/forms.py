"""Forms of the field work on a ticket's page: a file, a visit's window, a check-out."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateTimeLocalField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

# The rules (sizes, kinds, windows, who) are the services'; these forms only carry the values.


class AttachmentForm(FlaskForm):
    file = FileField(_l("Photo, screenshot, log or PDF (at most 10 MB)"),
                     render_kw={"accept": "image/*,application/pdf,.pdf,.log,.txt"})


class VisitForm(FlaskForm):
    engineer_id = SelectField(_l("Engineer"), coerce=int, validate_choice=False)
    # China time, as agreed with the customer on the phone.
    planned_start = DateTimeLocalField(_l("From (China time)"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    planned_end = DateTimeLocalField(_l("To (China time)"), format="%Y-%m-%dT%H:%M", validators=[Optional()])


class CheckOutForm(FlaskForm):
    work_done = TextAreaField(_l("Work done"), validators=[Length(max=5000)], render_kw={"rows": 3})
    parts_used = StringField(_l("Parts used"), validators=[Length(max=2000)])
    hours = StringField(_l("Hours worked"), render_kw={"inputmode": "decimal"})
