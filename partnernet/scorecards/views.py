"""The scorecard pages: HQ's ranking of a province's partners for a month, and one partner's
scorecard with its twelve-month trend (HQ, or the partner's own administrators)."""
from flask import Blueprint, render_template, request
from flask_login import current_user, login_required

from partnernet.audit.measures import SATISFIED_RATING
from partnernet.auth.models import HQ_ROLES
from partnernet.errors import ValidationFailed
from partnernet.regions import service as regions
from partnernet.regions.models import Region
from partnernet.extensions import db
from partnernet.scope import require_role
from partnernet.scorecards import service
from partnernet.timeclock import now_utc, today_in_china

bp = Blueprint("scorecards", __name__)


def chosen_month(default):
    """?month=YYYY-MM, else `default`; a month that is not one is said on the page."""
    try:
        return service.parse_month(request.args.get("month")) or default, None
    except ValidationFailed as error:
        return default, error.fields["month"]


@bp.get("/scorecards")
@login_required
def ranking():
    require_role(current_user, *HQ_ROLES)
    today = today_in_china(now_utc())
    # Partners are compared on a whole month: the last one, unless another is chosen.
    month, month_error = chosen_month(service.add_months(service.month_of(today), -1))
    code = request.args.get("province", "")
    province = db.session.get(Region, code) if code else None
    if province is None or province.level != "province":
        province = db.session.get(Region, service.busiest_province() or "")
    cards = service.province_ranking(month, province.code, today) if province else []
    return render_template("scorecards/ranking.html", cards=cards, month=month, month_error=month_error,
                           province=province, provinces=regions.provinces_for_picker(),
                           satisfied_rating=SATISFIED_RATING)


@bp.get("/partners/<int:party_id>/scorecard")
@login_required
def partner(party_id):
    party = service.scored_partner(party_id, current_user)
    today = today_in_china(now_utc())
    month, month_error = chosen_month(service.month_of(today))
    months = [service.add_months(month, n) for n in range(1 - service.MONTHS, 1)]
    trend = service.partner_trend(party.id, months, today)
    return render_template("scorecards/partner.html", party=party, card=trend[-1], trend=trend, month=month,
                           month_error=month_error, satisfied_rating=SATISFIED_RATING)


@bp.app_template_filter("month_name")
def month_name(month) -> str:
    """A month in the reader's language: 2026年11月, Nov 2026."""
    from babel.dates import format_skeleton
    from flask_babel import get_locale
    return format_skeleton("yMMM", month, locale=get_locale())
