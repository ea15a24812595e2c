"""What one part of the app announces and another reacts to, so that the part announcing need not
import the one reacting (a partner's status belongs to the network; what it means for live offers
belongs to the tickets). Blinker's signals, as Flask's own are."""
from blinker import Namespace

_signals = Namespace()

partner_status_changed = _signals.signal("partner-status-changed", doc="""
Sent after a partner's status changed, inside the transaction that changes it (nothing is committed
yet, the new status is flushed). The sender is the Party; keyword arguments: from_status, to_status,
actor (the User, or None for the system) and now. A receiver writes in the same session and does
not commit: the status change commits everything together.""")

engineers_activated = _signals.signal("engineers-activated", doc="""
Sent when engineers' records were saved with their active flag (a page, the API or an import), inside
the transaction, before the commit. Sender: None; keyword arguments: active_by_engineer (engineer id
-> active), actor_id (or None) and now. The logins follow their engineers (partnernet.auth).""")

ticket_resolved = _signals.signal("ticket-resolved", doc="""
Sent when a ticket's owner marked it resolved, inside the transaction, before the commit. The
sender is the Ticket (its owner_party_id names who resolved it); keyword arguments: actor (the
User) and now. The customer's confirmation link is issued here (partnernet.feedback); a receiver
writes in the same session and does not commit.""")
