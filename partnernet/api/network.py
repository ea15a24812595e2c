"""/api/v1 partners, coverage, engineers and certifications: thin endpoints over network.service
and network.certifications (who may manage engineers and submit for one, as the pages ask them),
with the scope of partnernet.scope."""
import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from partnernet.api import schemas
from partnernet.api.blueprint import api_user, blp, documented_errors
from partnernet.api.pagination import ListArgs, keyset_page, page_schema
from partnernet.auth.models import HQ_ROLES, MANAGER_ROLES
from partnernet.errors import Forbidden, NotFound, ValidationFailed
from partnernet.network import certifications, service
from partnernet.network.models import Certification, Coverage, Engineer, Party
from partnernet.scope import get_or_404, require_role, scoped
from partnernet.timeclock import now_utc, today_in_china

PARTNERS, ENGINEERS = ["partners"], ["engineers and certifications"]


def partner_or_404(party_id: int) -> Party:
    """A partner the user may see; HQ is a party but not a partner."""
    party = get_or_404(Party, party_id, api_user())
    if party.is_hq:
        raise NotFound()
    return party


def with_valid_certifications(engineers: list[Engineer]) -> list[dict]:
    """Engineers as schemas.Engineer writes them, each with the certifications valid today."""
    valid = service.valid_certifications([engineer.id for engineer in engineers], today_in_china())
    return [{**{name: getattr(engineer, name) for name in ("id", "party_id", "name", "phone", "email", "active")},
             "valid_certifications": valid[engineer.id]} for engineer in engineers]


def product_line_id(code: str | None, field: str = "product_line") -> int | None:
    if not code:
        return None
    line_id = service.product_line_id(code)
    if line_id is None:
        raise ValidationFailed("Unknown product line.", {field: "Unknown product line."})
    return line_id


# --- partners ----------------------------------------------------------------------------------

@blp.route("/partners", methods=["GET"], tags=PARTNERS)
@blp.arguments(schemas.PartnerListArgs, location="query")
@blp.response(200, page_schema(schemas.Partner))
@documented_errors(422)
def list_partners(args):
    """Partners. HQ sees all of them; a partner's users see only their own."""
    statement = service.partner_list_statement(
        today_in_china(), q=args.get("q", ""), kind=args.get("kind", ""), status=args.get("status", ""),
        province=args.get("province", ""), product_line_id=product_line_id(args.get("product_line")))
    statement = scoped(statement.order_by(None).order_by(Party.id), Party, api_user())
    return keyset_page(statement, Party.id, args)


@blp.route("/partners", methods=["POST"], tags=PARTNERS)
@blp.arguments(schemas.PartnerIn)
@blp.response(201, schemas.Partner)
@documented_errors(400, 403, 422)
def create_partner(data):
    """A new partner (hq_admin, hq_manager); it is onboarding until activated."""
    user = api_user()
    require_role(user, *MANAGER_ROLES)
    return service.create_partner(data, user.id, now_utc())


@blp.route("/partners/<id:partner_id>", methods=["GET"], tags=PARTNERS)
@blp.response(200, schemas.Partner)
@documented_errors(404)
def get_partner(partner_id):
    """One partner: HQ, or the partner's own users."""
    return partner_or_404(partner_id)


@blp.route("/partners/<id:partner_id>", methods=["PATCH"], tags=PARTNERS)
@blp.arguments(schemas.PartnerPatch)
@blp.response(200, schemas.Partner)
@documented_errors(400, 403, 404, 409, 422)
def update_partner(data, partner_id):
    """Change some of a partner's fields (hq_admin, hq_manager)."""
    user = api_user()
    require_role(user, *MANAGER_ROLES)
    party = partner_or_404(partner_id)
    values = {field: getattr(party, field) for field in service.PARTNER_FIELDS}
    values.update(data)
    return service.update_partner(party, values, user.id, now_utc())


@blp.route("/partners/<id:partner_id>/status", methods=["POST"], tags=PARTNERS)
@blp.arguments(schemas.PartnerStatusIn)
@blp.response(200, schemas.Partner)
@documented_errors(400, 403, 404, 409, 422)
def change_partner_status(data, partner_id):
    """Move a partner along its lifecycle, with a reason (hq_admin, hq_manager); 409 if not allowed.

    Suspended and terminated partners receive no tickets: their live offers are withdrawn and
    routed on to the next candidate at once (event `rerouted`, not counted as push-back)."""
    user = api_user()
    require_role(user, *MANAGER_ROLES)
    party = partner_or_404(partner_id)
    service.change_status(party, data["status"], data["reason"], user.id, now_utc())
    return party


# --- coverage ----------------------------------------------------------------------------------

@blp.route("/partners/<id:partner_id>/coverage", methods=["GET"], tags=PARTNERS)
@blp.arguments(ListArgs, location="query")
@blp.response(200, page_schema(schemas.Coverage))
@documented_errors(404, 422)
def list_coverage(args, partner_id):
    """A partner's coverage, past, present and future."""
    party = partner_or_404(partner_id)
    statement = scoped(sa.select(Coverage).where(Coverage.party_id == party.id), Coverage, api_user())
    return keyset_page(statement.options(selectinload(Coverage.product_lines)).order_by(Coverage.id),
                       Coverage.id, args)


@blp.route("/partners/<id:partner_id>/coverage", methods=["POST"], tags=PARTNERS)
@blp.arguments(schemas.CoverageIn)
@blp.response(201, schemas.Coverage)
@documented_errors(400, 403, 404, 422)
def add_coverage(data, partner_id):
    """Add coverage of a region (any level) for some product lines or all (hq_admin, hq_manager)."""
    user = api_user()
    require_role(user, *MANAGER_ROLES)
    party = partner_or_404(partner_id)
    codes = data["product_lines"]
    line_ids = []
    if codes is not None:
        found = {code: service.active_product_line_id(code) for code in codes}
        unknown = [code for code, line_id in found.items() if line_id is None]
        if unknown:
            raise ValidationFailed("Unknown product line.", {"product_lines": "Unknown: " + ", ".join(unknown)})
        line_ids = [found[code] for code in dict.fromkeys(codes)]
    now = now_utc()
    return service.add_coverage(party, data["region_code"], codes is None, line_ids, data["tiers"],
                                data.get("effective_from") or today_in_china(now), data.get("effective_to"),
                                user.id, now)


@blp.route("/coverage/<id:coverage_id>", methods=["DELETE"], tags=PARTNERS)
@blp.response(204)
@documented_errors(403, 404, 409)
def end_coverage(coverage_id):
    """End a coverage today, keeping it as history (hq_admin, hq_manager); 409 if it has ended."""
    user = api_user()
    require_role(user, *MANAGER_ROLES)
    coverage = get_or_404(Coverage, coverage_id, user)
    now = now_utc()
    service.end_coverage(coverage, user.id, now, today_in_china(now))
    return None


# --- engineers and certifications --------------------------------------------------------------

@blp.route("/partners/<id:partner_id>/engineers", methods=["GET"], tags=ENGINEERS)
@blp.arguments(ListArgs, location="query")
@blp.response(200, page_schema(schemas.Engineer))
@documented_errors(403, 404, 422)
def list_engineers(args, partner_id):
    """A partner's engineers with the certifications valid today: HQ, or the partner's own partner_admin."""
    user = api_user()
    require_role(user, *HQ_ROLES, "partner_admin")
    party = partner_or_404(partner_id)
    statement = scoped(sa.select(Engineer).where(Engineer.party_id == party.id), Engineer, user)
    page = keyset_page(statement.order_by(Engineer.id), Engineer.id, args)
    page["items"] = with_valid_certifications(page["items"])
    return page


@blp.route("/partners/<id:partner_id>/engineers", methods=["POST"], tags=ENGINEERS)
@blp.arguments(schemas.EngineerIn)
@blp.response(201, schemas.Engineer)
@documented_errors(400, 403, 404, 422)
def add_engineer(data, partner_id):
    """A new engineer (hq_admin, hq_manager, or the partner's own partner_admin)."""
    user = api_user()
    party = partner_or_404(partner_id)
    service.require_engineer_manager(user)
    return with_valid_certifications([service.save_engineer(party, data, actor_id=user.id)])[0]


@blp.route("/engineers/<id:engineer_id>", methods=["GET"], tags=ENGINEERS)
@blp.response(200, schemas.Engineer)
@documented_errors(404)
def get_engineer(engineer_id):
    """One engineer with the certifications valid today: HQ, the partner's own users (an engineer:
    only themselves)."""
    return with_valid_certifications([get_or_404(Engineer, engineer_id, api_user())])[0]


@blp.route("/engineers/<id:engineer_id>/certifications", methods=["GET"], tags=ENGINEERS)
@blp.arguments(ListArgs, location="query")
@blp.response(200, page_schema(schemas.Certification))
@documented_errors(404, 422)
def list_certifications(args, engineer_id):
    """An engineer's certifications: HQ, the engineer's partner, the engineer."""
    engineer = get_or_404(Engineer, engineer_id, api_user())
    statement = scoped(sa.select(Certification).where(Certification.engineer_id == engineer.id),
                       Certification, api_user())
    return keyset_page(statement.options(selectinload(Certification.product_line)).order_by(Certification.id),
                       Certification.id, args)


@blp.route("/engineers/<id:engineer_id>/certifications", methods=["POST"], tags=ENGINEERS)
@blp.arguments(schemas.CertificationIn)
@blp.response(201, schemas.Certification)
@documented_errors(400, 403, 404, 422)
def submit_certification(data, engineer_id):
    """Submit a certification or a renewal; it is pending until HQ reviews it."""
    user = api_user()
    engineer = get_or_404(Engineer, engineer_id, user)
    if not certifications.can_submit_for(user, engineer):
        raise Forbidden()
    return certifications.submit(engineer, data["product_line"], data["level"], data["number"],
                                 data["issued_on"], data["expires_on"], now_utc())


@blp.route("/certifications/<id:certification_id>/revoke", methods=["POST"], tags=ENGINEERS)
@blp.arguments(schemas.RevokeIn)
@blp.response(200, schemas.Certification)
@documented_errors(400, 403, 404, 409, 422)
def revoke_certification(data, certification_id):
    """Revoke a valid certification (hq_admin, hq_manager), with a reason: from now on it certifies
    nobody. 409 if it is not valid (pending, rejected, expired or already revoked)."""
    user = api_user()
    require_role(user, *MANAGER_ROLES)
    certification = get_or_404(Certification, certification_id, user)
    return certifications.revoke(certification, data["reason"], user.id, now_utc())


@blp.route("/certifications/pending", methods=["GET"], tags=ENGINEERS)
@blp.arguments(schemas.PendingCertificationListArgs, location="query")
@blp.response(200, page_schema(schemas.Certification))
@documented_errors(403, 422)
def list_pending_certifications(args):
    """HQ's review queue (hq_admin, hq_manager): pending certifications, oldest submission first."""
    require_role(api_user(), *MANAGER_ROLES)
    now = now_utc()
    filters = certifications.ReviewFilters(party_id=args.get("partner_id"),
                                           product_line_id=product_line_id(args.get("product_line")),
                                           older_than_days=args.get("older_than_days"))
    page = certifications.pending_page(filters, now, today_in_china(now), certifications.queue_key(args.get("cursor")),
                                       limit=args["limit"])
    return {"items": [certification for certification, _effect in page.items],
            "next_cursor": certifications.queue_cursor(page.next_key) if page.next_key else None}


@blp.route("/certifications/<id:certification_id>/review", methods=["POST"], tags=ENGINEERS)
@blp.arguments(schemas.ReviewIn)
@blp.response(200, schemas.Certification)
@documented_errors(400, 403, 404, 409, 422)
def review_certification(data, certification_id):
    """Approve or reject a pending certification (hq_admin, hq_manager); 409 if already reviewed."""
    user = api_user()
    require_role(user, *MANAGER_ROLES)
    certification = get_or_404(Certification, certification_id, user)
    now = now_utc()
    return certifications.review(certification, data["decision"], data.get("reason") or "", user.id, now,
                                 today_in_china(now))
