"""Reports and exports over the tickets: the ticket list as a file, each month's SLA results per
partner, and the settlement (结算) per partner and month."""
