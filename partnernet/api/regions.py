"""/api/v1/regions and /api/v1/product-lines: reference data, readable by every role."""
import sqlalchemy as sa

from partnernet.api import schemas
from partnernet.api.blueprint import blp, documented_errors
from partnernet.api.pagination import ListArgs, keyset_page, ordered_page, page_schema
from partnernet.errors import NotFound
from partnernet.extensions import db
from partnernet.network.models import ProductLine
from partnernet.regions import service as regions
from partnernet.regions.models import Region


@blp.route("/regions", tags=["reference"])
@blp.arguments(schemas.RegionListArgs, location="query")
@blp.response(200, page_schema(schemas.Region))
@documented_errors(422)
def list_regions(args):
    """Regions: search by code, Chinese name or pinyin (best matches first), or all by code."""
    query = (args.get("q") or "").strip()
    if query:
        return ordered_page(*regions.search_statement(query), "regions", args)
    return keyset_page(sa.select(Region).order_by(Region.code), Region.code, args, integer=False)


@blp.route("/regions/<region_code:code>", tags=["reference"])
@blp.response(200, schemas.RegionDetail)
@documented_errors(404)
def get_region(code):
    """One region with its chain up to the province."""
    region = db.session.get(Region, code)
    if region is None:
        raise NotFound()
    return {"code": region.code, "name": region.name, "pinyin": region.pinyin, "level": region.level,
            "parent_code": region.parent_code, "chain": regions.chain(code)}


@blp.route("/product-lines", tags=["reference"])
@blp.arguments(ListArgs, location="query")
@blp.response(200, page_schema(schemas.ProductLine))
@documented_errors(422)
def list_product_lines(args):
    """The active product lines."""
    return keyset_page(sa.select(ProductLine).where(ProductLine.active).order_by(ProductLine.id), ProductLine.id, args)
