"""The one way every read of partner-owned data is limited to what the user may see.

Every query over partner-owned data goes through `scoped()`; fetching one object goes through
`get_or_404()`. HQ roles see everything. For everyone else, each model declares its rule beside
its class (`@rule(Model)` in its models module): a partner's users see their own party's data; an
engineer sees the tickets assigned to them, their own record and their own certifications. A
model without a rule is invisible to partners. Outside the scope is indistinguishable from
absent: 404.
"""
from typing import Callable

import sqlalchemy as sa

from partnernet.errors import Forbidden, NotFound
from partnernet.extensions import db

NOTHING = sa.false()
_rules: dict[type, Callable] = {}


def rule(model):
    """Declare `model`'s rule: a function of the (non-HQ) user returning a WHERE clause."""
    def register(clause_for):
        _rules[model] = clause_for
        return clause_for
    return register


def scope_clause(model, user):
    """The WHERE clause limiting `model` to what `user` may see."""
    if user.is_hq:
        return sa.true()
    clause_for = _rules.get(model)
    return clause_for(user) if clause_for is not None else NOTHING


def scoped(statement, model, user):
    return statement.where(scope_clause(model, user))


def get_or_404(model, ident, user):
    """One object by primary key, or NotFound when it is absent or outside the user's scope."""
    pk = list(sa.inspect(model).primary_key)[0]
    obj = db.session.execute(scoped(sa.select(model).where(pk == ident), model, user)).scalar_one_or_none()
    if obj is None:
        raise NotFound()
    return obj


def require_role(user, *roles: str) -> None:
    """Raise Forbidden unless the user has one of the roles (a role mismatch is 403, not 404)."""
    if user.role not in roles:
        raise Forbidden()
