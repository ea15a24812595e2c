"""The one answer form: the customer's on the link's page, and HQ's on a call-back."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from partnernet.feedback.service import COMMENT_MAX, Answer


class AnswerForm(FlaskForm):
    solved = RadioField(_l("Is the problem solved?"), choices=[
        SelectChoice("yes", _l("Yes, it is solved")), SelectChoice("no", _l("No, it is not solved"))],
        validators=[InputRequired(message=_l("Say whether it is solved."))])
    rating = RadioField(_l("How was the service? (1 poor – 5 excellent)"),
                        choices=[SelectChoice(str(n), str(n)) for n in range(1, 6)],
                        validators=[InputRequired(message=_l("Choose a rating from 1 to 5."))])
    comment = TextAreaField(_l("Comment (optional)"), validators=[Optional(), Length(max=COMMENT_MAX)])

    def answer(self) -> Answer:
        return Answer(solved=self.solved.data == "yes", rating=int(self.rating.data), comment=self.comment.data or "")
