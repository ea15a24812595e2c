"""reference data: regions of China, default product lines, the HQ party, settings, SLA policies

`db upgrade` on an empty database leaves a working system (docs/design.md); `seed-demo` adds the
demo network on top.

Revision ID: 0002
Revises: 0001
"""
from datetime import datetime, time, timezone

import sqlalchemy as sa
from alembic import op

from partnernet.regions.service import load_regions
from partnernet.settings.service import DEFAULTS

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

PRODUCT_LINES = [
    ("oa-core", "OA 核心平台", "OA core platform"),
    ("workflow", "流程与表单", "Workflow & forms"),
    ("mobile", "移动办公", "Mobile office"),
    ("integration", "集成与二次开发", "Integration & secondary development"),
]


def upgrade():
    connection = op.get_bind()
    load_regions(connection)
    now = datetime.now(timezone.utc).replace(tzinfo=None)

    product_line = sa.table("product_line", sa.column("code"), sa.column("name_zh"),
                            sa.column("name_en"), sa.column("active"))
    op.bulk_insert(product_line, [
        {"code": code, "name_zh": zh, "name_en": en, "active": True} for code, zh, en in PRODUCT_LINES])

    party = sa.table("party", sa.column("kind"), sa.column("name"), sa.column("name_en"),
                     sa.column("status"), sa.column("capacity"), sa.column("tier_l1"),
                     sa.column("tier_l2"), sa.column("tier_l3"), sa.column("created_at", sa.DateTime))
    op.bulk_insert(party, [{"kind": "hq", "name": "总部", "name_en": "Headquarters", "status": "active",
                            "capacity": None, "tier_l1": True, "tier_l2": True, "tier_l3": True,
                            "created_at": now}])

    setting = sa.table("setting", sa.column("key"), sa.column("value", sa.JSON), sa.column("updated_at", sa.DateTime))
    op.bulk_insert(setting, [{"key": k, "value": v, "updated_at": now} for k, v in DEFAULTS.items()])

    sla_policy = sa.table(
        "sla_policy", sa.column("code"), sa.column("name_zh"), sa.column("name_en"), sa.column("kind"),
        sa.column("timezone"), sa.column("day_start", sa.Time), sa.column("day_end", sa.Time),
        sa.column("response_minutes"), sa.column("resolution_simple_minutes"),
        sa.column("resolution_complex_minutes"))
    common = {"timezone": "Asia/Shanghai", "response_minutes": 30,
              "resolution_simple_minutes": 60, "resolution_complex_minutes": 480}
    op.bulk_insert(sla_policy, [
        {"code": "business-hours", "name_zh": "工作时间（9:00–18:00，工作日）",
         "name_en": "Business hours (09:00–18:00, working days)", "kind": "business_hours",
         "day_start": time(9, 0), "day_end": time(18, 0), **common},
        {"code": "24x7", "name_zh": "7×24 小时", "name_en": "24×7", "kind": "always",
         "day_start": None, "day_end": None, **common},
    ])


def downgrade():
    for table in ("sla_policy", "setting", "party", "product_line", "region"):
        op.execute(sa.text(f"DELETE FROM {table}"))
