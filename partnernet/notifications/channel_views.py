"""A party's group robot channels: a partner's dispatch group on its partner page, HQ's queue group
on the settings page. The party is always the signed-in administrator's own; the rules live in
notifications.channels, shared with the API."""
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from partnernet.errors import DomainError
from partnernet.extensions import db
from partnernet.notifications import channels
from partnernet.notifications.forms import ChannelForm
from partnernet.notifications.providers import EXAMPLES, PROVIDER_NAMES
from partnernet.scope import require_role
from partnernet.timeclock import now_utc
from partnernet.web import show_errors

bp = Blueprint("channels", __name__)


def channels_page() -> str:
    """Where the user's party's channels are listed."""
    if current_user.is_hq:
        return url_for("channels.hq_channels")
    return url_for("network.partner", party_id=current_user.party_id) + "#channels"


@bp.get("/settings/channels")
@login_required
def hq_channels():
    require_role(current_user, "hq_admin")
    return render_template("settings/channels.html", channels=channels.channels_of(current_user.party_id),
                           provider_names=PROVIDER_NAMES)


def render_form(form: ChannelForm, channel=None):
    return render_template("notifications/channel_form.html", form=form, channel=channel, examples=EXAMPLES,
                           back=channels_page()), 422 if form.errors else 200


def save(form: ChannelForm, party_id: int, channel_id: int | None = None):
    return channels.save_channel(
        party_id, form.provider.data, form.webhook_url.data, form.secret.data, form.name.data, form.enabled.data,
        current_app.config["ROBOT_HOSTS"], now_utc(), channel_id=channel_id, locale=form.locale.data)


@bp.route("/channels/new", methods=["GET", "POST"])
@login_required
def new_channel():
    party_id = channels.channel_party_of(current_user)
    form = ChannelForm()
    if form.validate_on_submit():
        try:
            channel = save(form, party_id)
        except DomainError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            flash(_("Group robot %(name)s added. Send a test message to check that the group receives it.",
                    name=channel.name or channel.masked_webhook), "success")
            return redirect(channels_page())
    return render_form(form)


@bp.route("/channels/<int:channel_id>/edit", methods=["GET", "POST"])
@login_required
def edit_channel(channel_id):
    party_id = channels.channel_party_of(current_user)
    channel = channels.channel_of(party_id, channel_id)
    # Never filled in from the channel: its address and secret are not shown back.
    form = ChannelForm(data={"provider": channel.provider, "name": channel.name, "locale": channel.locale,
                             "enabled": channel.enabled})
    if form.validate_on_submit():
        try:
            save(form, party_id, channel.id)
        except DomainError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            flash(_("Group robot saved."), "success")
            return redirect(channels_page())
    return render_form(form, channel)


@bp.post("/channels/<int:channel_id>/enabled")
@login_required
def set_enabled(channel_id):
    party_id = channels.channel_party_of(current_user)
    enabled = request.form.get("enabled") == "1"
    channels.set_enabled(party_id, channel_id, enabled, now_utc())
    flash(_("Group robot turned on.") if enabled else _("Group robot turned off: nothing is posted to it."),
          "success")
    return redirect(channels_page())


@bp.post("/channels/<int:channel_id>/delete")
@login_required
def delete_channel(channel_id):
    channels.delete_channel(channels.channel_party_of(current_user), channel_id)
    flash(_("Group robot removed."), "success")
    return redirect(channels_page())


@bp.post("/channels/<int:channel_id>/test")
@login_required
def send_test(channel_id):
    channel = channels.channel_of(channels.channel_party_of(current_user), channel_id)
    channels.queue_test_message(channel, now_utc())
    flash(_("Test message queued: the group receives it within a minute. If it does not, the delivery log "
            "says why."), "success")
    return redirect(channels_page())
