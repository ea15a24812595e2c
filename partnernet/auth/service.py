"""Users: authenticate, create, look up by e-mail."""
import re
import threading

from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from zxcvbn import zxcvbn

from partnernet.auth.tokens import revoke_tokens_of
from partnernet.auth.models import HQ_ROLES, ROLES, User
from partnernet.db_types import utcnow
from partnernet.errors import ValidationFailed
from partnernet.extensions import db
from partnernet.names import read_name
from partnernet.network.models import Engineer, Party
from partnernet.settings import changes

MIN_PASSWORD_LENGTH = 10
# zxcvbn's score: 3 is "safely unguessable" (about 10^8 guesses and more) — a few unrelated words.
MIN_PASSWORD_SCORE = 3
PASSWORD_SCORED_LENGTH = 48
_zxcvbn_lock = threading.Lock()


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user(email: str) -> User | None:
    return db.session.execute(
        db.select(User).where(User.email == normalise_email(email))).scalar_one_or_none()


def authenticate(email: str, password: str, now=None) -> User | None:
    """The user whose e-mail and password match and who may sign in, else None."""
    user = find_user(email)
    if user is None or not user.active or not user.check_password(password):
        return None
    user.last_login_at = now or utcnow()
    db.session.commit()
    return user


def password_problem(password: str, email: str, name: str | None = None) -> str | None:
    """What is wrong with a new password, else None: too short, the e-mail in it, or easy to guess
    (zxcvbn's score below MIN_PASSWORD_SCORE, with the user's e-mail and name among the words it
    tries first)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return _("The password must have at least %(n)d characters.", n=MIN_PASSWORD_LENGTH)
    if normalise_email(email) in password.lower() or password.lower() == normalise_email(email).split("@")[0]:
        return _("The password must not contain the e-mail address.")
    if password_score(password, [email, name or ""]) < MIN_PASSWORD_SCORE:
        return _("This password is too easy to guess: common passwords, repeated or consecutive characters, "
                 "keyboard rows and names are tried first. Use a few unrelated words.")
    return None


def password_score(password: str, user_inputs: list[str]) -> int:
    """zxcvbn's 0–4 on the first PASSWORD_SCORED_LENGTH characters: its time grows steeply with the
    length (a random 72 characters: up to 0.7 s), and a prefix that is hard to guess is enough.
    The words of `user_inputs` count as guessed first. zxcvbn keeps them in a module-wide
    dictionary, hence one estimate at a time."""
    words = [word for text in user_inputs for word in [text, *re.findall(r"\w+", text)] if word]
    with _zxcvbn_lock:
        return zxcvbn(password[:PASSWORD_SCORED_LENGTH], user_inputs=words)["score"]


def create_user(email, name, role, password, party_id=None, engineer_id=None, locale=None,
                actor: User | None = None) -> User:
    """A new user bound to its party; HQ roles belong to HQ, partner roles to a partner.
    `actor`: who created it (None: the command line), for the change log."""
    email = normalise_email(email)
    fields = {}
    name, problem = read_name(name, 64, required=False)
    if problem:
        fields["name"] = problem
    if role not in ROLES:
        fields["role"] = _("Unknown role.")
    if find_user(email):
        fields["email"] = _("A user with this e-mail already exists.")
    problem = password_problem(password, email, name)
    if problem:
        fields["password"] = problem
    hq = db.session.execute(db.select(Party).where(Party.kind == "hq")).scalar_one()
    if role in HQ_ROLES:
        if party_id not in (None, hq.id):
            fields["party_id"] = _("HQ roles belong to HQ.")
        party_id = hq.id
    else:
        party = db.session.get(Party, party_id) if party_id else None
        if party is None or party.is_hq and role == "partner_admin":
            fields["party_id"] = _("A partner role needs an existing partner.")
    if role == "engineer":
        engineer = db.session.get(Engineer, engineer_id) if engineer_id else None
        if engineer is None or engineer.party_id != party_id:
            fields["engineer_id"] = _("An engineer user needs an engineer record of the same party.")
        elif db.session.execute(db.select(User.id).where(User.engineer_id == engineer.id)).first():
            fields["engineer_id"] = _("This engineer can already sign in.")
    elif engineer_id is not None:
        fields["engineer_id"] = _("Only engineer users have an engineer record.")
    if fields:
        raise ValidationFailed(_("The user cannot be created."), fields)
    user = User(email=email, name=name or email.split("@")[0], role=role, party_id=party_id,
                engineer_id=engineer_id, locale=locale)
    user.set_password(password)
    db.session.add(user)
    try:
        db.session.flush()
        changes.record("user_created", actor.id if actor else None, utcnow(), target=email, user_id=user.id,
                       role=role, party_id=party_id)
        db.session.commit()
    except IntegrityError:
        # The same e-mail or engineer created at the same moment by someone else: theirs stands.
        db.session.rollback()
        raise ValidationFailed(_("The user cannot be created."), {
            "email": _("A user with this e-mail, or a login for this engineer, already exists.")}) from None
    return user


def change_password(user: User, current: str, new: str, confirmation: str) -> User:
    """A new password after the current one; every other session of the user ends at once."""
    fields = {}
    if not user.check_password(current or ""):
        fields["current_password"] = _("The current password is wrong.")
    problem = password_problem(new or "", user.email, user.name)
    if problem:
        fields["new_password"] = problem
    elif new != confirmation:
        fields["confirmation"] = _("The two new passwords differ.")
    if fields:
        raise ValidationFailed(_("The password was not changed."), fields)
    user.set_password(new)
    user.session_version += 1  # sessions and remember-me cookies carrying the old version end
    db.session.commit()
    return user


def roles_for(user: User) -> tuple[str, ...]:
    """The roles a user may be given: HQ's among HQ's roles; a partner's user keeps its role (an
    engineer login belongs to an engineer record, a partner_admin to its partner)."""
    return HQ_ROLES if user.is_hq else (user.role,)


def update_user(user: User, actor: User | None, role: str, active: bool) -> User:
    """An hq_admin changes a user's role or deactivates it; a deactivated user is signed out
    everywhere at once and its API tokens stop working. Nobody takes away their own admin rights,
    and the last active hq_admin stays one. `actor` None: the command line. A deactivated user's
    tokens are revoked: reactivating the user does not revive them."""
    fields = {}
    if role not in roles_for(user):
        fields["role"] = _("Not a role this user can have.")
    if actor is not None and user.id == actor.id and (role != user.role or not active):
        fields["role" if role != user.role else "active"] = _("You cannot take away your own rights.")
    losing_admin = user.role == "hq_admin" and user.active and (role != "hq_admin" or not active)
    if losing_admin and not fields and db.session.execute(db.select(db.func.count(User.id)).where(
            User.role == "hq_admin", User.active, User.id != user.id)).scalar() == 0:
        fields["role"] = _("This is the last active hq_admin.")
    if fields:
        raise ValidationFailed(_("The user was not changed."), fields)
    changed = changes.differences({"role": user.role, "active": user.active}, {"role": role, "active": active})
    if changed:
        changes.record("user_changed", actor.id if actor else None, utcnow(), target=user.email, user_id=user.id,
                       **changed)
    if user.active and not active:
        user.session_version += 1  # every session and remember-me cookie ends now
        revoke_tokens_of(user, utcnow(), actor.id if actor else None)
    user.role, user.active = role, active
    db.session.commit()
    return user


def reset_password(user: User, new: str, actor: User | None = None) -> User:
    """An hq_admin (`actor`; None: the command line) sets a new password (a forgotten one); the
    user's sessions end."""
    problem = password_problem(new or "", user.email, user.name)
    if problem:
        raise ValidationFailed(_("The password was not changed."), {"password": problem})
    changes.record("password_set", actor.id if actor else None, utcnow(), target=user.email, user_id=user.id)
    user.set_password(new)
    user.session_version += 1
    db.session.commit()
    return user
