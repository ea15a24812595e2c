"""/api/v1/me: who the token acts as (user, role, party, language), readable by every role."""
from partnernet.api import schemas
from partnernet.api.blueprint import api_user, blp, documented_errors
from partnernet.api.representations import party_view


@blp.route("/me", methods=["GET"], tags=["reference"])
@blp.response(200, schemas.Me)
@documented_errors()
def get_me():
    """The token's user: name, role, the party it acts for, and its language."""
    user = api_user()
    return {"id": user.id, "email": user.email, "name": user.name, "role": user.role,
            "party": party_view(user.party), "engineer_id": user.engineer_id, "language": user.locale}
