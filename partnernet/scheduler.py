"""The timed jobs, each a call into a service, and the ways to run them.

In development the scheduler runs inside the web process (`start_in_process`); in production it
runs as its own process (`flask --app wsgi scheduler`). However many are started against one
database, only the one holding the leader lock runs jobs (partnernet.leader); each job is also
idempotent, so a job that runs twice changes nothing the second time.
"""
import functools
import logging
import os

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from partnernet.api.idempotency import purge_expired_keys
from partnernet.audit.service import weekly_run
from partnernet.feedback.service import close_unanswered, send_link_emails
from partnernet.leader import LeaderLock
from partnernet.network.service import expire_lapsed_certifications
from partnernet.notifications.delivery import deliver_channel_messages
from partnernet.notifications.reminders import remind_expiring_certifications
from partnernet.notifications.service import deliver_pending
from partnernet.reports.service import make_due_reports
from partnernet.settings.service import load_settings
from partnernet.tickets.clocks import mark_breaches
from partnernet.tickets.reminders import remind_unseen_offers, warn_before_breach
from partnernet.tickets.service import expire_due_offers
from partnernet.timeclock import CHINA, now_utc, today_in_china

log = logging.getLogger(__name__)


def expire_certifications_job(app):
    with app.app_context():
        now = now_utc()
        count = expire_lapsed_certifications(today_in_china(now))
        reminded = remind_expiring_certifications(
            today_in_china(now), int(load_settings()["certification_reminder_days"]), now)
        if count or reminded:
            log.info("expired %d certifications, sent %d reminders", count, reminded)


def sla_breaches_job(app):
    with app.app_context():
        count = mark_breaches(now_utc(), load_settings())
        if count:
            log.info("recorded %d SLA breaches", count)


def offer_reminders_job(app):
    with app.app_context():
        count = remind_unseen_offers(now_utc(), load_settings())
        if count:
            log.info("reminded %d partners of offers nobody of theirs has opened", count)


def sla_warnings_job(app):
    with app.app_context():
        count = warn_before_breach(now_utc(), load_settings())
        if count:
            log.info("warned the owners of %d targets near their due time", count)


def deliver_notifications_job(app, now=None):
    """Cards to group robots, e-mails to users, confirmation links to customers. `now` is the
    app's clock unless a test passes its own."""
    with app.app_context():
        now = now or now_utc()
        robots = deliver_channel_messages(now, app.config["ROBOT_PER_MINUTE"])
        if robots["sent"] or robots["failed"] or robots["folded"]:
            log.info("robot cards: %(sent)d sent, %(folded)d folded into digests, %(retry)d to retry, "
                     "%(failed)d failed, %(waiting)d waiting for the robot's next minute", robots)
        deliver_pending(now)
        send_link_emails(now)  # customers' confirmation links: no user, an address of their own


def close_unanswered_job(app):
    with app.app_context():
        count = close_unanswered(now_utc())
        if count:
            log.info("closed %d resolved tickets nobody answered in 14 days", count)


def expire_offers_job(app):
    with app.app_context():
        count = expire_due_offers(now_utc())
        if count:
            log.info("expired %d offers and routed their tickets onwards", count)


def weekly_audit_job(app):
    with app.app_context():
        run = weekly_run(now_utc())
        if run is not None:
            log.info("audit run %d of %s to %s: %d partners, %d flagged", run.id, run.period_start,
                     run.period_end, len(run.findings), sum(1 for f in run.findings if f.flagged))


def monthly_reports_job(app):
    with app.app_context():
        result = make_due_reports(now_utc())
        if result is not None and result.made:
            log.info("made %d monthly reports of %s (%d made before)", result.made,
                     result.month.strftime("%Y-%m"), result.existing)


def purge_idempotency_keys_job(app):
    with app.app_context():
        count = purge_expired_keys(now_utc())
        if count:
            log.info("purged %d idempotency keys older than 24 hours", count)


def only_when_leader(job, lock):
    @functools.wraps(job)
    def run(app):
        if lock.try_acquire():
            job(app)
    return run


def add_jobs(scheduler, app):
    with app.app_context():
        from partnernet.extensions import db
        database = db.engine.url.database or "memory"
        lock = LeaderLock(db.engine, os.path.abspath(database) + ".scheduler-lock")
    app.extensions["scheduler_lock"] = lock
    interval = float(os.environ.get("SCHEDULER_LEADER_CHECK_SECONDS", "20"))
    # Trying for the lock on its own schedule: a stand-by takes over soon after the leader dies.
    scheduler.add_job(lambda: lock.try_acquire(), "interval", seconds=interval, id="leader",
                      replace_existing=True, coalesce=True, max_instances=1, next_run_time=now_utc())
    expire_offers = only_when_leader(expire_offers_job, lock)
    sla_breaches = only_when_leader(sla_breaches_job, lock)
    deliver_notifications = only_when_leader(deliver_notifications_job, lock)
    expire_certifications = only_when_leader(expire_certifications_job, lock)
    offer_reminders = only_when_leader(offer_reminders_job, lock)
    sla_warnings = only_when_leader(sla_warnings_job, lock)

    minute = float(os.environ.get("SCHEDULER_MINUTE_SECONDS", "60"))  # shortened in tests only
    scheduler.add_job(expire_offers, "interval", seconds=minute, args=[app], id="expire_offers",
                      replace_existing=True, coalesce=True, max_instances=1)
    scheduler.add_job(sla_breaches, "interval", seconds=minute, args=[app], id="sla_breaches",
                      replace_existing=True, coalesce=True, max_instances=1)
    # Three times a minute: a card queued by another job (a reminder, an expiry) or a request goes
    # out within 20 seconds, whatever order the minute's jobs run in.
    scheduler.add_job(deliver_notifications, "interval", seconds=minute / 3, args=[app], id="deliver_notifications",
                      replace_existing=True, coalesce=True, max_instances=1)
    scheduler.add_job(offer_reminders, "interval", seconds=minute, args=[app], id="offer_reminders",
                      replace_existing=True, coalesce=True, max_instances=1)
    scheduler.add_job(sla_warnings, "interval", seconds=minute, args=[app], id="sla_warnings",
                      replace_existing=True, coalesce=True, max_instances=1)
    # Resolved tickets nobody answered close 14 days on: a few minutes late is soon enough.
    close_resolved = only_when_leader(close_unanswered_job, lock)
    scheduler.add_job(close_resolved, "interval", seconds=minute * 10, args=[app], id="close_unanswered",
                      replace_existing=True, coalesce=True, max_instances=1, next_run_time=now_utc())
    # Shortly after midnight in China, and once at start so a stopped server catches up.
    scheduler.add_job(expire_certifications, "cron", hour=0, minute=5, args=[app],
                      id="expire_certifications", replace_existing=True, coalesce=True)
    scheduler.add_job(expire_certifications, args=[app], id="expire_certifications_now")
    # The last full week, Monday 02:00 in China; and once at start, so a stopped server catches up.
    weekly_audit = only_when_leader(weekly_audit_job, lock)
    scheduler.add_job(weekly_audit, "cron", day_of_week="mon", hour=2, minute=0, timezone=CHINA, args=[app],
                      id="weekly_audit", replace_existing=True, coalesce=True)
    scheduler.add_job(weekly_audit, args=[app], id="weekly_audit_now")
    # Last month's reports on this month's first working day, 07:00 in China (the job knows which day
    # that is; the other days it finds them made); and once at start, so a stopped server catches up.
    monthly_reports = only_when_leader(monthly_reports_job, lock)
    scheduler.add_job(monthly_reports, "cron", hour=7, minute=0, timezone=CHINA, args=[app],
                      id="monthly_reports", replace_existing=True, coalesce=True)
    scheduler.add_job(monthly_reports, args=[app], id="monthly_reports_now")
    # Idempotency keys are good for 24 hours; older ones are only clutter. Nightly, 03:30 in China.
    purge_keys = only_when_leader(purge_idempotency_keys_job, lock)
    scheduler.add_job(purge_keys, "cron", hour=3, minute=30, timezone=CHINA, args=[app],
                      id="purge_idempotency_keys", replace_existing=True, coalesce=True)


def start_in_process(app) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone=CHINA)
    add_jobs(scheduler, app)
    scheduler.start()
    app.extensions["scheduler"] = scheduler
    return scheduler


def run_forever(app) -> None:
    scheduler = BlockingScheduler(timezone=CHINA)
    add_jobs(scheduler, app)
    scheduler.start()
