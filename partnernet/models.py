"""Imports every model so that the metadata (and Alembic) sees all tables."""
from partnernet.api.models import IdempotencyKey  # noqa: F401
from partnernet.audit.models import AuditDecision, AuditFinding, AuditResponse, AuditRun  # noqa: F401
from partnernet.auth.models import ApiToken, User  # noqa: F401
from partnernet.customers.models import Contract, Customer  # noqa: F401
from partnernet.feedback.models import ConfirmationLink, CustomerFeedback  # noqa: F401
from partnernet.fieldwork.models import Attachment, Visit  # noqa: F401
from partnernet.notifications.models import Notification, NotificationChannel  # noqa: F401
from partnernet.network.models import (  # noqa: F401
    Certification, Coverage, Engineer, Party, PartyEvent, ProductLine)
from partnernet.regions.models import Region  # noqa: F401
from partnernet.reports.models import MonthlyReport  # noqa: F401
from partnernet.settings.models import CalendarDay, ChangeEvent, Setting, SlaPolicy  # noqa: F401
from partnernet.tickets.models import EventCountDay, OfferCountMonth, Ticket, TicketEvent  # noqa: F401
