"""Imports every model module so the metadata (Alembic, tests) sees all tables."""

from portal.auth.models import User  # noqa: F401
from portal.billing.models import Allocation, FeeInvoice, Payment, Receipt  # noqa: F401
from portal.dematerialization.models import (  # noqa: F401
    ChorusExchange,
    ChorusStatusEvent,
    RecipientService,
    RecipientStructure,
)
from portal.jobs.models import Job, JobItem, TaskExecution  # noqa: F401
from portal.notifications.models import Notification, StoredReport  # noqa: F401
from portal.portfolio.models import (  # noqa: F401
    BankAccount,
    Client,
    ClientDocument,
    Company,
    Contract,
)
from portal.settings.models import RecipientListMember, Setting  # noqa: F401
