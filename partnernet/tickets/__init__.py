"""Tickets: intake, routing to a local party, offers, the HQ queue and their event history."""
