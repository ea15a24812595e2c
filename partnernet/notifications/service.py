"""Creating notifications in the recipient's language, reading them, and delivering the outbox."""
import smtplib
from datetime import datetime
from email.message import EmailMessage

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, lazy_gettext as _l
from sqlalchemy.dialects import postgresql, sqlite

from partnernet.auth.models import LOCALES, User
from partnernet.errors import ValidationFailed
from partnernet.extensions import db
from partnernet.notifications.kinds import KINDS
from partnernet.notifications.models import EmailOptOut, Notification

MAX_ATTEMPTS = 5


def smtp_configured() -> bool:
    return bool(current_app.config.get("SMTP_HOST"))


def notify(user: User, kind: str, dedup_key: str, render, link: str | None, now: datetime) -> Notification | None:
    """Queue one notification; `render()` returns (subject, body) and runs in the user's language.
    The same (user, dedup_key) twice creates nothing the second time."""
    queued = queue([user], kind, dedup_key, render, link, now)
    return db.session.get(Notification, queued[0]) if queued else None


def notify_each(users: list[User], kind: str, dedup_key: str, render, link: str | None, now: datetime) -> int:
    """Queue one notification per user in one INSERT (the text rendered once per language); a user
    who already has one with this dedup_key gets nothing. How many were queued."""
    return len(queue(users, kind, dedup_key, render, link, now))


def queue(users: list[User], kind: str, dedup_key: str, render, link: str | None, now: datetime) -> list[int]:
    """The ids of the notifications inserted: one per user without one for this dedup_key yet. The
    unique (user, dedup_key) settles a race with another process: its row wins, ours is skipped."""
    if not users:
        return []
    texts, rows = {}, []
    pending = delivery_status()
    not_by_email = set(db.session.execute(sa.select(EmailOptOut.user_id).where(
        EmailOptOut.kind == kind, EmailOptOut.user_id.in_([user.id for user in users]))).scalars())
    for user in users:
        locale = user.locale or LOCALES[0]
        if locale not in texts:
            texts[locale] = rendered(render, locale)
        subject, body = texts[locale]
        rows.append({"user_id": user.id, "kind": kind, "dedup_key": dedup_key, "subject": subject, "body": body,
                     "link": link, "created_at": now, "attempts": 0,
                     "status": pending if user.email and user.id not in not_by_email else "app_only"})
    connection = db.session.connection()
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    table = Notification.__table__
    statement = (dialect.insert(table).values(rows)
                 .on_conflict_do_nothing(index_elements=["user_id", "dedup_key"]).returning(table.c.id))
    return list(connection.execute(statement).scalars())  # RETURNING: rowcount is not portable here


def party_role_insert(dialect):
    """INSERT … SELECT of one notification per active user of a party with a role, the text in each
    user's language; ON CONFLICT skips a user who already has one. Its parameters are those of
    party_notification()."""
    table = Notification.__table__

    def parameter(name, column=None):
        return sa.bindparam(name, type_=table.c[column or name].type)

    locale = sa.func.coalesce(User.locale, LOCALES[0])
    by_language = {field: sa.case(*((locale == code, parameter(f"{field}_{code}", field)) for code in LOCALES[1:]),
                                  else_=parameter(f"{field}_{LOCALES[0]}", field))
                   for field in ("subject", "body")}
    opted_out = sa.exists().where(EmailOptOut.user_id == User.id, EmailOptOut.kind == parameter("kind"))
    status = sa.case((sa.func.coalesce(User.email, "") == "", "app_only"), (opted_out, "app_only"),
                     else_=parameter("status"))
    rows = (sa.select(User.id, parameter("kind"), parameter("dedup_key"), by_language["subject"], by_language["body"],
                      parameter("link"), parameter("created_at"), sa.literal(0), status)
            .where(User.party_id == sa.bindparam("party_id"), User.role == sa.bindparam("role"), User.active))
    columns = ["user_id", "kind", "dedup_key", "subject", "body", "link", "created_at", "attempts", "status"]
    return (dialect.insert(table).from_select(columns, rows)
            .on_conflict_do_nothing(index_elements=["user_id", "dedup_key"]))


PARTY_ROLE = {"postgresql": party_role_insert(postgresql), "sqlite": party_role_insert(sqlite)}


def party_notification(party_id: int, role: str, kind: str, dedup_key: str, render, link: str | None,
                       now: datetime) -> dict:
    """The parameters of party_role_insert(): the text rendered in every language, for each user
    to get their own."""
    texts = {}
    for code in LOCALES:
        texts[f"subject_{code}"], texts[f"body_{code}"] = rendered(render, code)
    return {**texts, "party_id": party_id, "role": role, "kind": kind, "dedup_key": dedup_key, "link": link,
            "created_at": now, "status": delivery_status()}


def notify_party(parameters: dict) -> None:
    """Queue one notification per active user of the party with the role (party_notification()'s
    parameters), in one statement that reads nobody first: each user gets the text in their own
    language. A user who already has one with this dedup_key gets nothing."""
    connection = db.session.connection()
    connection.execute(PARTY_ROLE[connection.dialect.name], parameters)


def rendered(render, locale: str) -> tuple[str, str]:
    """(subject, body) of `render()` in the locale: the subject on one line, at most 200 characters."""
    with force_locale(locale):
        subject, body = render()
    return one_line(subject)[:200], str(body)


def delivery_status() -> str:
    """A new notification to a user with an e-mail address: sent by SMTP when configured."""
    return "pending" if smtp_configured() else "app_only"


def one_line(text) -> str:
    """A subject on one line: line breaks (from a ticket subject, say) become spaces, so that no
    text can add a header to an e-mail."""
    return " ".join(str(text).splitlines())


def email_opt_outs(user_id: int) -> set[str]:
    """The kinds the user does not want by e-mail."""
    return set(db.session.execute(sa.select(EmailOptOut.kind).where(EmailOptOut.user_id == user_id)).scalars())


def set_email_preferences(user_id: int, by_email: set[str] | list[str]) -> set[str]:
    """Keep e-mailing the user the kinds in `by_email` and no other kind of KINDS; the kinds left
    out still reach the bell. An unknown kind is refused and nothing changes. The kinds left out."""
    unknown = sorted(set(by_email) - set(KINDS))
    if unknown:
        message = str(_l("Unknown kind of notification: %(kinds)s.", kinds=", ".join(unknown)))
        raise ValidationFailed(message, {"kinds": message})
    left_out = set(KINDS) - set(by_email)
    db.session.execute(sa.delete(EmailOptOut).where(EmailOptOut.user_id == user_id))
    db.session.add_all(EmailOptOut(user_id=user_id, kind=kind) for kind in sorted(left_out))
    db.session.commit()
    return left_out


def unread_count(user: User) -> int:
    return db.session.execute(sa.select(sa.func.count(Notification.id)).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))).scalar_one()


def recent(user: User, limit: int = 100) -> list[Notification]:
    return list(db.session.execute(sa.select(Notification).where(Notification.user_id == user.id)
                                   .order_by(Notification.created_at.desc(), Notification.id.desc())
                                   .limit(limit)).scalars())


def mark_all_read(user: User, now: datetime) -> int:
    result = db.session.execute(sa.update(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)).values(read_at=now))
    db.session.commit()
    return result.rowcount


def deliver_pending(now: datetime) -> int:
    """Send queued e-mails by SMTP; a failure is retried on the next run, up to MAX_ATTEMPTS."""
    if not smtp_configured():
        return 0
    config = current_app.config
    pending = db.session.execute(sa.select(Notification).where(
        Notification.status == "pending").order_by(Notification.id).limit(200)).scalars().all()
    if not pending:
        return 0
    sent = 0
    try:
        smtp = smtplib.SMTP(config["SMTP_HOST"], int(config.get("SMTP_PORT") or 25), timeout=20)
        if config.get("SMTP_STARTTLS"):
            smtp.starttls()
        if config.get("SMTP_USER"):
            smtp.login(config["SMTP_USER"], config.get("SMTP_PASSWORD") or "")
    except (OSError, smtplib.SMTPException) as error:
        for notification in pending:
            record_failure(notification, error)
        db.session.commit()
        return 0
    with smtp:
        for notification in pending:
            message = EmailMessage()
            message["From"] = config.get("SMTP_FROM") or "partnernet@localhost"
            message["To"] = notification.user.email
            message["Subject"] = one_line(notification.subject)  # a header: never a line break
            message.set_content(notification.body + (f"\n\n{notification.link}" if notification.link else ""))
            try:
                smtp.send_message(message)
            except smtplib.SMTPException as error:
                record_failure(notification, error)
                continue
            notification.status, notification.sent_at = "sent", now
            notification.attempts += 1
            sent += 1
    db.session.commit()
    return sent


def record_failure(notification: Notification, error: Exception) -> None:
    notification.attempts += 1
    notification.last_error = str(error)[:500]
    if notification.attempts >= MAX_ATTEMPTS:
        notification.status = "failed"  # still visible in the app


def send_email(to: str, subject: str, body: str) -> None:
    """One e-mail by SMTP to an address that belongs to no user (a customer's contact). Raises
    OSError or SMTPException on failure, for the caller to record and retry."""
    config = current_app.config
    message = EmailMessage()
    message["From"] = config.get("SMTP_FROM") or "partnernet@localhost"
    message["To"] = one_line(to)
    message["Subject"] = one_line(subject)
    message.set_content(body)
    with smtplib.SMTP(config["SMTP_HOST"], int(config.get("SMTP_PORT") or 25), timeout=20) as smtp:
        if config.get("SMTP_STARTTLS"):
            smtp.starttls()
        if config.get("SMTP_USER"):
            smtp.login(config["SMTP_USER"], config.get("SMTP_PASSWORD") or "")
        smtp.send_message(message)
