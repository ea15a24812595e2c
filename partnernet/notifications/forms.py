"""Forms of a party's group robot channels and of a user's e-mail preferences."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from partnernet.notifications.providers import PROVIDER_NAMES, PROVIDERS

CARD_LANGUAGES = [SelectChoice("zh_CN", "中文"), SelectChoice("en", "English")]


class ChannelForm(FlaskForm):
    """The address and the secret are never filled in from a saved channel: empty on a change keeps
    the stored ones."""
    provider = SelectField(_l("Robot"), choices=[SelectChoice(p, PROVIDER_NAMES[p]) for p in PROVIDERS])
    name = StringField(_l("Group name"), validators=[Optional(), Length(max=64)])
    webhook_url = StringField(_l("Webhook address"), validators=[Optional(), Length(max=512)])
    secret = PasswordField(_l("Signing secret"), validators=[Optional(), Length(max=128)])
    locale = SelectField(_l("Language of the cards"), choices=CARD_LANGUAGES)
    enabled = BooleanField(_l("On: post notifications to this group"), default=True)
