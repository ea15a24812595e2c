"""API tokens: issued once in clear, stored as SHA-256, revoked at once, used with a bounded write.
They belong to users (auth): the API authenticates with them; users' and partners' changes revoke them.

A token is `pn_` and 43 URL-safe characters (256 random bits). The database holds only its
hash, so a leaked database does not leak working tokens; because the token is random and long,
a plain SHA-256 (no salt, no slow hash) is enough and lets a request find its token by index.
"""
import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from partnernet.auth.models import ApiToken, User
from partnernet.errors import NotFound, ValidationFailed
from partnernet.extensions import db
from partnernet.names import read_name
from partnernet.settings import changes

PREFIX = "pn_"
# last_used_at is written at most this often per token, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def issue_token(user: User, name: str, now: datetime, actor: User | None = None) -> tuple[ApiToken, str]:
    """A new token for `user`, issued by `actor` (the user on their profile page; None: the
    command line); the secret is returned here once and never stored."""
    name, problem = read_name(name, 64)
    if problem:
        raise ValidationFailed(_("The token cannot be created."), {"name": problem})
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, token_hash=token_hash(secret), created_at=now)
    db.session.add(token)
    db.session.flush()
    changes.record("token_created", actor.id if actor else None, now, target=name, user_id=user.id, token_id=token.id)
    db.session.commit()
    return token, secret


def revoke_token(token: ApiToken, now: datetime, actor: User | None = None) -> ApiToken:
    """Revoke a token: the next request that carries it is refused. Revoking twice changes nothing.
    `actor`: as for issue_token."""
    if token.revoked_at is None:
        token.revoked_at = now
        changes.record("token_revoked", actor.id if actor else None, now, target=token.name, user_id=token.user_id,
                       token_id=token.id)
        db.session.commit()
    return token


def revoke_tokens_of(user: User, now: datetime, actor_id: int | None) -> None:
    """Revoke every live token of a user who is deactivated, each in the change log as revoke_token
    logs one, so that reactivating the user does not bring them back. One conditional statement:
    a token revoked meanwhile by its user is not revoked, nor logged, twice. The caller commits."""
    revoked = db.session.execute(
        sa.update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now).returning(ApiToken.id, ApiToken.name)).all()
    for token_id, name in sorted(revoked):
        changes.record("token_revoked", actor_id, now, target=name, user_id=user.id, token_id=token_id)


def own_token(user: User, token_id: int) -> ApiToken:
    """One of the user's own tokens; anybody else's is absent (404)."""
    token = db.session.execute(
        sa.select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id)).scalar_one_or_none()
    if token is None:
        raise NotFound()
    return token


def tokens_of(user: User) -> list[ApiToken]:
    return list(db.session.execute(
        sa.select(ApiToken).where(ApiToken.user_id == user.id)
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc())).scalars())


# Built once: every API request runs it.
LIVE_TOKEN = (sa.select(User, ApiToken.id, ApiToken.last_used_at).join(ApiToken, ApiToken.user_id == User.id)
              .where(ApiToken.token_hash == sa.bindparam("token_hash"), ApiToken.revoked_at.is_(None)))


def user_for_token(secret: str, now: datetime) -> User | None:
    """The active user a live token belongs to, else None. Notes the use (once a minute at most)."""
    if not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    row = db.session.execute(LIVE_TOKEN, {"token_hash": token_hash(secret)}).first()
    if row is None or not row.User.active:
        return None
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        # Conditional, so that of many requests in the same minute only one writes.
        db.session.execute(
            sa.update(ApiToken)
            .where(ApiToken.id == row.id, sa.or_(ApiToken.last_used_at.is_(None),
                                                 ApiToken.last_used_at <= now - LAST_USED_RESOLUTION))
            .values(last_used_at=now))
        db.session.commit()
    return row.User
