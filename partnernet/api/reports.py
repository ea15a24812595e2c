"""/api/v1 reports: each month's SLA results per partner (HQ: every partner; a partner's
administrator: its own) and a partner's settlement for a month. Thin endpoints over
reports.monthly and reports.settlement, which the pages and their files call too."""
import marshmallow as ma
from flask_babel import gettext as _
from marshmallow import fields, validate

from partnernet.api.blueprint import api_user, blp, documented_errors
from partnernet.api.fields import Text
from partnernet.errors import ValidationFailed
from partnernet.network.models import TIERS
from partnernet.reports import monthly, settlement as settlements
from partnernet.reports.service import require_reader
from partnernet.reports.served import parse_month
from partnernet.scorecards.service import add_months, month_of, scored_partner
from partnernet.timeclock import now_utc, today_in_china

TAGS = ["reports"]


class MonthArgs(ma.Schema):
    month = Text(validate=validate.Regexp(r"^[0-9]{4}-[0-9]{2}$"), metadata={
        "description": "The calendar month in China (default: last month).", "example": "2026-11"})


def chosen_month(args):
    text = args.get("month")
    month = parse_month(text)
    if text and month is None:
        raise ValidationFailed(_("This report cannot be made."), {"month": _("A month such as 2026-11.")})
    return month or add_months(month_of(today_in_china(now_utc())), -1)


def month_text(obj) -> str:
    return obj.month.strftime("%Y-%m")


class SlaCounts(ma.Schema):
    served = fields.Integer(required=True, metadata={"description": "Tickets served (resolved) in the month."})
    response_met = fields.Integer(required=True)
    response_breached = fields.Integer(required=True)
    response_rate = fields.Float(required=True, allow_none=True, metadata={
        "description": "Response targets met, of those settled (null: none settled)."})
    resolution_met = fields.Integer(required=True)
    resolution_breached = fields.Integer(required=True)
    resolution_rate = fields.Float(required=True, allow_none=True)


class TierSla(SlaCounts):
    tier = fields.String(required=True, validate=validate.OneOf(TIERS), metadata={"enum": list(TIERS)})


class PartnerSla(SlaCounts):
    partner_id = fields.Integer(required=True, attribute="party_id")
    partner_name = fields.String(required=True, attribute="name")
    by_tier = fields.List(fields.Nested(TierSla), required=True, metadata={"description": "The tiers it served."})

    @ma.pre_dump
    def tiers_listed(self, row, **_kwargs):
        return dict(counted(row), party_id=row.party_id, name=row.name,
                    by_tier=[dict(counted(counts), tier=tier) for tier, counts in row.by_tier.items()])


def counted(counts) -> dict:
    return {name: getattr(counts, name) for name in SlaCounts._declared_fields}


class SlaResults(ma.Schema):
    month = fields.Function(month_text, required=True, metadata={"type": "string", "example": "2026-11"})
    partners = fields.List(fields.Nested(PartnerSla), required=True, metadata={
        "description": "The partners that served tickets in the month, by name; empty: no tickets."})
    total = fields.Nested(SlaCounts, required=True)


class SettlementTotals(ma.Schema):
    tickets = fields.Integer(required=True)
    hours = fields.Float(required=True, metadata={"description": "On-site hours of the serving party's visits."})
    by_tier = fields.Dict(keys=fields.String(validate=validate.OneOf(TIERS)), values=fields.Integer(), required=True,
                          metadata={"description": "Tickets per tier, the tiers there are."})


class Settlement(ma.Schema):
    partner_id = fields.Function(lambda s: s.party.id, required=True, metadata={"type": "integer"})
    month = fields.Function(month_text, required=True, metadata={"type": "string", "example": "2026-11"})
    partner = fields.Nested(SettlementTotals, required=True, metadata={
        "description": "The billable tickets the partner served in the month."})
    hq = fields.Nested(SettlementTotals, required=True, metadata={
        "description": "The tickets HQ served in the month for the partner's customers (push-back)."})
    empty = fields.Boolean(required=True, metadata={"description": "Nothing to settle in the month."})


@blp.route("/sla-results", methods=["GET"], tags=TAGS)
@blp.arguments(MonthArgs, location="query")
@blp.response(200, SlaResults)
@documented_errors(403, 422)
def sla_results(args):
    """The month's SLA results per partner and tier: HQ reads every partner's, a partner's
    administrator its own; an engineer: 403 (reports are not an engineer's)."""
    user = api_user()
    require_reader(user)
    month = chosen_month(args)
    if user.is_hq:
        return monthly.sla_results(None, month)
    return monthly.sla_results(scored_partner(user.party_id, user).id, month)


@blp.route("/partners/<id:partner_id>/settlement", methods=["GET"], tags=TAGS)
@blp.arguments(MonthArgs, location="query")
@blp.response(200, Settlement)
@documented_errors(403, 404, 422)
def partner_settlement(args, partner_id):
    """A partner's settlement for a month (HQ, or the partner's own administrators; any other
    partner's: 404; an engineer: 403): its billable tickets served, and the tickets HQ served for
    its customers."""
    user = api_user()
    require_reader(user)
    party = scored_partner(partner_id, user)
    return settlements.settlement(party, chosen_month(args))
