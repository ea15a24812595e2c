"""/api/v1 scorecards: a province's partners ranked for a month (HQ), and one partner's months
(HQ, or the partner's own administrators). Thin endpoints over scorecards.service, which the
pages call too."""
import marshmallow as ma
from flask_babel import gettext as _
from marshmallow import fields, validate

from partnernet.api.blueprint import api_user, blp, documented_errors
from partnernet.api.fields import Text
from partnernet.api.pagination import ListArgs, decode_cursor, encode_cursor, page_schema
from partnernet.auth.models import HQ_ROLES
from partnernet.errors import ValidationFailed
from partnernet.extensions import db
from partnernet.regions.models import Region
from partnernet.scope import require_role
from partnernet.scorecards import service
from partnernet.timeclock import now_utc, today_in_china

TAGS = ["scorecards"]
MONTH = dict(validate=validate.Regexp(r"^[0-9]{4}-[0-9]{2}$"), metadata={"example": "2026-11"})


class ScorecardListArgs(ListArgs):
    province = Text(validate=validate.Regexp(r"^[0-9]{6}$"), metadata={
        "description": "The province's code (default: the province with the most partners).", "example": "330000"})
    month = Text(metadata={"description": "The month, in China (default: last month).", **MONTH["metadata"]},
                 validate=MONTH["validate"])


class PartnerScorecardArgs(ListArgs):
    from_ = Text(data_key="from", validate=MONTH["validate"], metadata={
        "description": f"First month (default: {service.MONTHS - 1} months before `to`).", "example": "2025-12"})
    to = Text(validate=MONTH["validate"], metadata={"description": "Last month (default: this month).",
                                                    "example": "2026-11"})


class Scorecard(ma.Schema):
    partner_id = fields.Integer(required=True, attribute="party_id")
    partner_name = fields.String(required=True, attribute="name")
    province = fields.String(required=True, allow_none=True, attribute="province_code")
    month = fields.Function(lambda c: c.month.strftime("%Y-%m"), required=True,
                            metadata={"type": "string", "example": "2026-11"})
    served = fields.Integer(required=True, metadata={"description": "Tickets it resolved in the month."})
    response_met = fields.Integer(required=True)
    response_breached = fields.Integer(required=True)
    response_rate = fields.Float(required=True, allow_none=True)
    resolution_met = fields.Integer(required=True)
    resolution_breached = fields.Integer(required=True)
    resolution_rate = fields.Float(required=True, allow_none=True)
    sla_rate = fields.Float(required=True, allow_none=True, metadata={
        "description": "Response and resolution targets met, of those settled in the month while it held the ticket."})
    rated = fields.Integer(required=True, metadata={"description": "Customers' answers with a rating."})
    rating_mean = fields.Float(required=True, allow_none=True)
    satisfied = fields.Integer(required=True, metadata={"description": "Answers rated 4 or 5."})
    satisfaction_lower_bound = fields.Float(required=True, allow_none=True, metadata={
        "description": "95% Wilson lower bound of the satisfied share: what the ranking orders by."})
    reopened = fields.Integer(required=True)
    reopen_rate = fields.Float(required=True, allow_none=True)
    offered = fields.Integer(required=True)
    push_back = fields.Integer(required=True)
    push_back_rate = fields.Float(required=True, allow_none=True)
    certified_engineers = fields.Integer(required=True, metadata={
        "description": "Active engineers with a valid certificate at the month's end (this month: today)."})


@blp.route("/scorecards", methods=["GET"], tags=TAGS)
@blp.arguments(ScorecardListArgs, location="query")
@blp.response(200, page_schema(Scorecard))
@documented_errors(403, 422)
def list_scorecards(args):
    """A province's partners' scorecards for a month, ranked (HQ): by the 95% Wilson lower bound
    of the share of answers rated 4 or 5, then SLA targets met, then the lower push-back rate."""
    require_role(api_user(), *HQ_ROLES)
    today = today_in_china(now_utc())
    month = service.parse_month(args.get("month")) or service.add_months(service.month_of(today), -1)
    province = db.session.get(Region, args.get("province") or service.busiest_province() or "")
    if province is None or province.level != "province":
        raise ValidationFailed(_("These scorecards cannot be shown."), {"province": _("Not a province's code.")})
    cards = service.province_ranking(month, province.code, today)
    # The ranking orders by figures computed for the province's partners together (a province's
    # few hundred at most): the cursor names the last partner shown, the next page starts after it.
    after = decode_cursor(args.get("cursor"), "ranking")
    shown = [card.party_id for card in cards]
    if after is not None and (not after.isdigit() or int(after) not in shown):
        raise ValidationFailed("Invalid cursor.", {"cursor": "Not a cursor of this list."})
    start = shown.index(int(after)) + 1 if after is not None else 0
    page = cards[start:start + args["limit"]]
    more = start + args["limit"] < len(cards)
    return {"items": page, "next_cursor": encode_cursor("ranking", page[-1].party_id) if more else None}


@blp.route("/partners/<id:partner_id>/scorecards", methods=["GET"], tags=TAGS)
@blp.arguments(PartnerScorecardArgs, location="query")
@blp.response(200, page_schema(Scorecard))
@documented_errors(404, 422)
def partner_scorecards(args, partner_id):
    """One partner's scorecards per month, oldest first (HQ, or the partner's own administrators;
    any other partner's: 404). At most 36 months at once."""
    party = service.scored_partner(partner_id, api_user())
    today = today_in_china(now_utc())
    months = service.month_range(args.get("from_"), args.get("to"), service.month_of(today))
    after = decode_cursor(args.get("cursor"), "months")
    if after is not None:  # the months after the last one shown: only this page's are computed
        after = service.parse_month(after, "cursor")
        months = [month for month in months if month > after]
    page = months[:args["limit"]]
    more = len(months) > len(page)
    return {"items": service.partner_trend(party.id, page, today),
            "next_cursor": encode_cursor("months", page[-1].strftime("%Y-%m")) if more else None}
