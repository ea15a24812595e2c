"""The timed jobs, each a call into a service, and the ways to run them.

In development the scheduler runs inside the web process (`start_in_process`); in production it
runs as its own process (`flask --app wsgi scheduler`).
"""
import logging

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from partnernet.network.service import expire_lapsed_certifications, remind_expiring_certifications
from partnernet.notifications.service import deliver_pending
from partnernet.settings.service import load_settings
from partnernet.tickets.clocks import mark_breaches
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
        count = mark_breaches(now_utc())
        if count:
            log.info("recorded %d SLA breaches", count)


def deliver_notifications_job(app):
    with app.app_context():
        deliver_pending(now_utc())


def expire_offers_job(app):
    with app.app_context():
        count = expire_due_offers(now_utc())
        if count:
            log.info("expired %d offers and routed their tickets onwards", count)


def add_jobs(scheduler, app):
    scheduler.add_job(expire_offers_job, "interval", minutes=1, args=[app], id="expire_offers",
                      replace_existing=True, coalesce=True, max_instances=1)
    scheduler.add_job(sla_breaches_job, "interval", minutes=1, args=[app], id="sla_breaches",
                      replace_existing=True, coalesce=True, max_instances=1)
    scheduler.add_job(deliver_notifications_job, "interval", minutes=1, args=[app], id="deliver_notifications",
                      replace_existing=True, coalesce=True, max_instances=1)
    # Shortly after midnight in China, and once at start so a stopped server catches up.
    scheduler.add_job(expire_certifications_job, "cron", hour=0, minute=5, args=[app],
                      id="expire_certifications", replace_existing=True, coalesce=True)
    scheduler.add_job(expire_certifications_job, args=[app], id="expire_certifications_now")


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
