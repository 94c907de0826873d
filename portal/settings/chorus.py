"""Chorus Pro settings (S1–S4, S15): stored values, environment overrides, derived URLs.

Every Chorus setting may come from an environment variable, which then wins and is shown
read-only (S2). ``load()`` is the one place that merges both sources.
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass, field
from datetime import date

from portal.crypto import SecretUnreadable, decrypt
from portal.settings import store

CHORUS_ENABLED = "insurance.chorus_enabled"  # S1, tab Assurances
AUTO_SEND_ENABLED = "chorus.auto_send_enabled"
DELAY_RECEIPTS = "chorus.delay_receipts_days"  # S3
DELAY_FEE_INVOICES = "chorus.delay_fee_invoices_days"  # S3
CUTOFF_DATE = "chorus.cutoff_date"  # S4
# A code of Chorus's list (``recuperer/motifs/exonerationtva``) and its label, never free text.
VAT_EXEMPTION_CODE = "chorus.vat_exemption_code"
VAT_EXEMPTION_LABEL = "chorus.vat_exemption_label"
# The free-text reason a migration cleared, kept to tell the admin until a code is chosen.
VAT_EXEMPTION_CLEARED_TEXT = "chorus.vat_exemption_cleared_text"
AUTO_SETTLE = "chorus.auto_settle"  # B2
# B3: how long a recipient structure checked in Chorus is trusted by later send jobs.
RECIPIENT_FRESHNESS_HOURS = "chorus.recipient_freshness_hours"
DEFAULT_RECIPIENT_FRESHNESS_HOURS = 24
MAX_RECIPIENT_FRESHNESS_HOURS = 720
# The secondary attachment type preselected on the send screen: a code of Chorus's list
# (``recuperer/typespj``), never a guessed value (see ``settings.attachment_types``).
DEFAULT_ATTACHMENT_TYPE = "chorus.default_attachment_type"

ENVIRONMENT = "chorus.environment"
OAUTH_URL = "chorus.oauth_url"
API_URL = "chorus.api_url"
CLIENT_ID = "chorus.client_id"
CLIENT_SECRET = "chorus.client_secret"  # noqa: S105  (a setting key, not a secret)
TECH_LOGIN = "chorus.tech_login"
TECH_PASSWORD = "chorus.tech_password"  # noqa: S105  (a setting key, not a secret)
SUPPLIER_ID = "chorus.supplier_id"
USER_ID = "chorus.user_id"

SECRET_KEYS = frozenset({CLIENT_SECRET, TECH_PASSWORD})

# setting key → environment variable that overrides it
ENV_OVERRIDES = {
    ENVIRONMENT: "CHORUS_ENV",
    OAUTH_URL: "CHORUS_OAUTH_URL",
    API_URL: "CHORUS_API_URL",
    CLIENT_ID: "CHORUS_CLIENT_ID",
    CLIENT_SECRET: "CHORUS_CLIENT_SECRET",
    TECH_LOGIN: "CHORUS_TECH_LOGIN",
    TECH_PASSWORD: "CHORUS_TECH_PASSWORD",
    SUPPLIER_ID: "CHORUS_SUPPLIER_ID",
    USER_ID: "CHORUS_USER_ID",
}

DEFAULT_EMULATOR_URL = "http://127.0.0.1:8081"


class Environment(enum.StrEnum):
    EMULATOR = "emulator"
    SANDBOX = "sandbox"
    PRODUCTION = "production"

    @property
    def label(self) -> str:
        return ENVIRONMENT_LABELS[self]


ENVIRONMENT_LABELS = {
    Environment.EMULATOR: "Émulateur intégré (démonstration)",
    Environment.SANDBOX: "Qualification (bac à sable)",
    Environment.PRODUCTION: "Production",
}

_PISTE_URLS = {
    Environment.SANDBOX: (
        "https://sandbox-oauth.piste.gouv.fr/api/oauth/token",
        "https://sandbox-api.piste.gouv.fr",
    ),
    Environment.PRODUCTION: (
        "https://oauth.piste.gouv.fr/api/oauth/token",
        "https://api.piste.gouv.fr",
    ),
}


def env_override(key: str) -> str | None:
    """The environment variable's value for this setting, when set."""
    variable = ENV_OVERRIDES.get(key)
    if variable is None:
        return None
    value = os.environ.get(variable, "").strip()
    return value or None


def default_urls(environment: Environment) -> tuple[str, str]:
    """(OAuth token URL, API base URL) of an environment."""
    if environment is Environment.EMULATOR:
        base = os.environ.get("CHORUS_EMULATOR_URL", DEFAULT_EMULATOR_URL).rstrip("/")
        return f"{base}/api/oauth/token", base
    return _PISTE_URLS[environment]


@dataclass(frozen=True)
class Destination:
    """Where the Chorus secrets are sent: the client secret to ``oauth_url``, the token and
    the technical account (``cpro-account``) to ``api_url``."""

    environment: Environment
    oauth_url: str
    api_url: str


def destination(
    environment: Environment, oauth_url: str | None = None, api_url: str | None = None
) -> Destination:
    """The effective destination: the URLs given, else the environment's defaults."""
    default_oauth, default_api = default_urls(environment)
    return Destination(
        environment=environment,
        oauth_url=(oauth_url or default_oauth).rstrip("/"),
        api_url=(api_url or default_api).rstrip("/"),
    )


@dataclass(frozen=True)
class ChorusSettings:
    """Everything needed to talk to Chorus Pro. ``repr`` never shows the secrets."""

    enabled: bool
    environment: Environment
    oauth_url: str
    api_url: str
    client_id: str | None
    client_secret: str | None = field(repr=False)
    tech_login: str | None
    tech_password: str | None = field(repr=False)
    supplier_id: int | None
    user_id: int | None
    auto_send_enabled: bool
    delay_receipts_days: int
    delay_fee_invoices_days: int
    cutoff_date: date | None
    vat_exemption_code: str | None
    vat_exemption_label: str | None
    auto_settle: bool
    overridden: frozenset[str]
    # Stored secrets the current encryption key cannot decrypt (treated as missing).
    unreadable_secrets: frozenset[str] = frozenset()
    # B3: hours a checked recipient stays trusted across send jobs (0: checked at every job).
    recipient_freshness_hours: int = DEFAULT_RECIPIENT_FRESHNESS_HOURS
    # « Type de pièce jointe complémentaire par défaut »: a code of Chorus's list, or none.
    default_attachment_type: str | None = None

    @property
    def missing_connection_fields(self) -> list[str]:
        """French labels of the connection settings still empty (for "valid basic settings")."""
        labels = {
            "client_id": "Client ID PISTE",
            "client_secret": "Client secret PISTE",
            "tech_login": "Login du compte technique",
            "tech_password": "Mot de passe du compte technique",
            "supplier_id": "Identifiant fournisseur",
        }
        return [label for name, label in labels.items() if not getattr(self, name)]

    def task_blockers(self) -> list[str]:
        """Why no scheduled Chorus task can run now (French; empty when they can)."""
        blockers = []
        if not self.enabled:
            blockers.append("la dématérialisation est désactivée (onglet Assurances)")
        if self.missing_connection_fields:
            missing = ", ".join(self.missing_connection_fields)
            blockers.append(f"paramètres de connexion incomplets : {missing}")
        return blockers

    @property
    def is_connection_complete(self) -> bool:
        return not self.missing_connection_fields

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    @property
    def destination(self) -> Destination:
        return destination(self.environment, self.oauth_url, self.api_url)


class _Stored:
    """Every stored setting read in one query; environment variables still win (S2)."""

    def __init__(self) -> None:
        self.values = store.get_many("")
        self.unreadable: set[str] = set()

    def raw(self, key: str) -> str | None:
        value = self.values.get(key)
        return value if value not in (None, "") else None

    def flag(self, key: str) -> bool:
        return self.raw(key) == "1"

    def value(self, key: str, *, secret: bool = False) -> str | None:
        override = env_override(key)
        if override is not None:
            return override
        token = self.raw(key)
        if not secret or token is None:
            return token
        try:
            return decrypt(token)
        except SecretUnreadable:
            # A changed ENCRYPTION_KEY must not break every page: the secret counts as
            # missing and the Système tab asks for it again.
            self.unreadable.add(key)
            return None


def _freshness_hours(raw: str | None) -> int:
    """B3 freshness in hours: the stored value (0 allowed), else the default."""
    hours = _int_or_none(raw)
    if hours is None or not 0 <= hours <= MAX_RECIPIENT_FRESHNESS_HOURS:
        return DEFAULT_RECIPIENT_FRESHNESS_HOURS
    return hours


def _int_or_none(raw: str | None) -> int | None:
    try:
        return int(raw) if raw else None
    except ValueError:
        return None


def load() -> ChorusSettings:
    """Current Chorus settings (one query), environment variables winning over stored values."""
    stored = _Stored()
    try:
        environment = Environment(stored.value(ENVIRONMENT) or Environment.EMULATOR.value)
    except ValueError:
        environment = Environment.SANDBOX
    default_oauth, default_api = default_urls(environment)
    cutoff = stored.raw(CUTOFF_DATE)
    return ChorusSettings(
        enabled=stored.flag(CHORUS_ENABLED),
        environment=environment,
        oauth_url=stored.value(OAUTH_URL) or default_oauth,
        api_url=(stored.value(API_URL) or default_api).rstrip("/"),
        client_id=stored.value(CLIENT_ID),
        client_secret=stored.value(CLIENT_SECRET, secret=True),
        tech_login=stored.value(TECH_LOGIN),
        tech_password=stored.value(TECH_PASSWORD, secret=True),
        supplier_id=_int_or_none(stored.value(SUPPLIER_ID)),
        user_id=_int_or_none(stored.value(USER_ID)),
        auto_send_enabled=stored.flag(AUTO_SEND_ENABLED),
        delay_receipts_days=_int_or_none(stored.raw(DELAY_RECEIPTS)) or 0,
        delay_fee_invoices_days=_int_or_none(stored.raw(DELAY_FEE_INVOICES)) or 0,
        cutoff_date=date.fromisoformat(cutoff) if cutoff else None,
        vat_exemption_code=stored.raw(VAT_EXEMPTION_CODE),
        vat_exemption_label=stored.raw(VAT_EXEMPTION_LABEL),
        auto_settle=stored.flag(AUTO_SETTLE),
        overridden=frozenset(key for key in ENV_OVERRIDES if env_override(key) is not None),
        unreadable_secrets=frozenset(stored.unreadable),
        recipient_freshness_hours=_freshness_hours(stored.raw(RECIPIENT_FRESHNESS_HOURS)),
        default_attachment_type=stored.raw(DEFAULT_ATTACHMENT_TYPE),
    )


def is_chorus_enabled() -> bool:
    """S1: is dematerialization switched on?"""
    return store.get_bool(CHORUS_ENABLED)


def has_vat_exemption_code() -> bool:
    """Is a VAT exemption code of Chorus's list chosen (needed to send exempt documents)?"""
    return store.has(VAT_EXEMPTION_CODE)
