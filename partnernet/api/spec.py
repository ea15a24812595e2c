"""The flask-smorest Api: the OpenAPI document at /api/v1/openapi.json, generated from the
schemas that validate, with our error shape and bearer-token security declared once."""
import marshmallow as ma
from flask_smorest import Api
from werkzeug.routing import BaseConverter

from partnernet.api import schemas
from partnernet.api.fields import ChinaDateTime, Money, Text
from partnernet.db_types import MAX_ID
from partnernet.web import IdConverter

PREFIX = "/api/v1"
DESCRIPTION = """The contract of partnernet's JSON API.

Authenticate with `Authorization: Bearer <token>`: create a token on your profile page or with
`flask --app wsgi tokens create EMAIL`. A token acts with its user's role and scope. Times are
ISO 8601 in China's time (+08:00); money is a decimal string in CNY. Lists take `limit` and
`cursor` and answer `{"items": [...], "next_cursor": ...}`. Errors answer
`{"error": {"code", "message", "fields"}}`, on every path under /api/v1; messages are in the
language of `Accept-Language` (zh-CN or en), else the user's own, else Chinese. Requests are
limited per token and per client address (by default 600 and 1,200 a minute), and tokens that
authenticate nobody to 20 a minute per address: over a limit the answer is 429 `rate_limited`
with `Retry-After` (seconds).
"""


TAGS = [
    ("reference", "Regions of China (GB/T 2260) and product lines."),
    ("partners", "Partners, their lifecycle status and their coverage."),
    ("engineers and certifications", "Engineers and their certifications (持证上岗)."),
    ("customers", "Customers and their contracts."),
    ("tickets", "Intake, the scoped ticket list, one ticket and what can be done with it."),
    ("audits", "The push-back audit: runs, findings and decisions."),
    ("field work", "A ticket's attachments, on-site visits and service report (服务报告)."),
    ("feedback", "The customer's confirmation link (满意度回访), what customers said, HQ's call-backs."),
    ("notifications", "The WeCom, DingTalk and Feishu group robots of the caller's party, the delivery log of their cards, "
                      "retrying a failure; the caller's e-mail preferences."),
]


class RegionCodeConverter(BaseConverter):
    """A GB/T 2260 code in a path: six digits."""

    regex = r"[0-9]{6}"


class PartnernetApi(Api):
    ERROR_SCHEMA = schemas.Error
    # Every operation lists its own error statuses; no catch-all "default" response.
    DEFAULT_ERROR_RESPONSE_NAME = None

    def register_blueprint(self, blp, **options):
        super().register_blueprint(blp, **options)
        # Operations carry their own tags (TAGS below); flask-smorest adds one per blueprint.
        self.spec._tags[:] = [tag for tag in self.spec._tags if tag["name"] != blp.name]
        # Every operation answers in the language asked for (partnernet.i18n.select_locale).
        # Written out in each, as the operation's other parameters are, not as a $ref.
        for operations in self.spec._paths.values():
            for operation in operations.values():
                if isinstance(operation, dict) and "responses" in operation:
                    parameters = operation.setdefault("parameters", [])
                    if ACCEPT_LANGUAGE not in parameters:
                        parameters.append(dict(ACCEPT_LANGUAGE))

    def _register_error_handlers(self):
        """flask-smorest would answer every HTTP error of the whole app (UI pages included) in its
        own shape; partnernet.errors and the API blueprint's handlers answer instead."""

    def _register_pagination_header(self):
        """Our lists page by cursor in the body (pagination.page_schema), not flask-smorest's
        page-number header: its PaginationMetadata schema would be declared and never used."""


def nullable_one_way(self, field, ret, **kwargs) -> dict:
    """How a nullable field reads in OpenAPI 3.0, in the one way validators and client generators
    understand: a nested object as `allOf: [$ref]` with `nullable: true` (apispec's `anyOf` with
    `{type: object, nullable: true}` lets any object pass); an enum likewise, as a named schema
    of its values without `null` (schemas.one_of). A field's `discriminator` metadata is kept
    (apispec drops it)."""
    any_of = ret.get("anyOf", [])
    refs = [branch for branch in any_of if "$ref" in branch]
    if field.allow_none and len(any_of) == 2 and len(refs) == 1:
        del ret["anyOf"]
        ret.update({"allOf": refs, "nullable": True})
    if "enum_name" in field.metadata:  # a nullable enum: by name, as a nullable reference
        name = field.metadata["enum_name"]
        values = [value for value in ret.pop("enum") if value is not None]
        if name not in self.spec.components.schemas:
            self.spec.components.schema(name, {"type": "string", "enum": values})
        ret.pop("type", None)
        ret.update({"allOf": [{"$ref": f"#/components/schemas/{name}"}], "nullable": True})
    if "discriminator" in field.metadata:
        ret["discriminator"] = field.metadata["discriminator"]
    return {}


ACCEPT_LANGUAGE = {"name": "Accept-Language", "in": "header", "required": False,
                   "description": "The language of messages (`zh-CN` or `en`); without it, the user's own.",
                   "schema": {"type": "string", "example": "en"}}


def create_api(app) -> PartnernetApi:
    app.config.setdefault("OPENAPI_URL_PREFIX", PREFIX)
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.url_map.converters["id"] = IdConverter
    app.url_map.converters["region_code"] = RegionCodeConverter
    api = PartnernetApi(app, spec_kwargs={
        "title": "partnernet API", "version": "v1", "openapi_version": "3.0.3",
        "info": {"description": DESCRIPTION},
        "security": [{"bearerAuth": []}],
    })
    api.ma_plugin.converter.add_attribute_function(nullable_one_way)
    # The members of schemas.PartyField's tagged union, which names them by reference.
    api.spec.components.schema("HqOwner", schema=schemas.HqOwner)
    api.spec.components.schema("PartnerOwner", schema=schemas.PartnerOwner)
    for name, description in TAGS:
        api.spec.tag({"name": name, "description": description})
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    # Every operation may answer 429 (blueprint.rate_limited): say when to try again.
    api.spec.components.responses_lazy["TOO_MANY_REQUESTS"]["headers"] = {"Retry-After": {
        "description": "Seconds to wait before the next request.", "schema": {"type": "integer", "minimum": 1}}}
    api.register_converter(IdConverter, lambda _c: {"type": "integer", "minimum": 1, "maximum": MAX_ID})
    api.register_converter(RegionCodeConverter, lambda _c: {"type": "string", "pattern": "^[0-9]{6}$"})
    api.register_field(Money, "string", "decimal")
    api.register_field(ChinaDateTime, ma.fields.DateTime)
    api.register_field(Text, ma.fields.String)
    return api
