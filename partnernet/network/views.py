"""Partner pages. A partner's users see only their own party; HQ sees every party."""
from flask import Blueprint, render_template
from flask_login import current_user, login_required

from partnernet.auth.scope import get_or_404
from partnernet.network.models import Party

bp = Blueprint("network", __name__, url_prefix="/partners")


@bp.get("/<int:party_id>")
@login_required
def partner(party_id):
    party = get_or_404(Party, party_id, current_user)
    return render_template("network/partner.html", party=party)
