"""Reports and exports over the tickets: the ticket list as a file, each month's SLA results per
partner, the settlement (结算) per partner and month, and each partner's monthly report (made by
the scheduler on the first working day of the next month, kept with its PDF)."""
