"""Rules over partners, engineers and certifications."""
from datetime import date

import sqlalchemy as sa

from partnernet.extensions import db
from partnernet.network.models import Certification


def expire_lapsed_certifications(today: date) -> int:
    """Mark valid certifications whose expiry date has passed as expired; safe to run twice."""
    result = db.session.execute(
        sa.update(Certification)
        .where(Certification.status == "valid", Certification.expires_on < today)
        .values(status="expired"))
    db.session.commit()
    return result.rowcount
