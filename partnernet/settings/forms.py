"""HQ's settings forms: calendar days, the calendar import, SLA policies."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, IntegerField, SelectField, StringField, TimeField
from wtforms.validators import DataRequired, Length, NumberRange, Optional


class CalendarDayForm(FlaskForm):
    day = DateField(_l("Date"), validators=[DataRequired()])
    is_working = SelectField(_l("Working day?"), choices=["working", "off"])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=64)])


class CalendarImportForm(FlaskForm):
    file = FileField(_l("CSV file with date,is_working[,note]"), validators=[FileRequired()])


class SlaPolicyForm(FlaskForm):
    day_start = TimeField(_l("Working day starts"), validators=[Optional()])
    day_end = TimeField(_l("Working day ends"), validators=[Optional()])
    response_minutes = IntegerField(_l("Response (minutes)"), validators=[DataRequired(), NumberRange(1, 100000)])
    resolution_simple_minutes = IntegerField(_l("Resolution, simple (minutes)"), validators=[DataRequired(), NumberRange(1, 100000)])
    resolution_complex_minutes = IntegerField(_l("Resolution, complex (minutes)"), validators=[DataRequired(), NumberRange(1, 100000)])
