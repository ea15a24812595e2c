"""Notifications: an outbox per user, shown in the app and sent by e-mail when SMTP is set up."""
