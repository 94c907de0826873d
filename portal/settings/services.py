"""Settings and users administration: pure validation first, then storing.

``validate_system`` / ``validate_user_change`` are pure (strings in, cleaned values or French
errors out); ``save_*`` / ``create_user`` … change state and flush, the view commits.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from urllib.parse import urlsplit

from sqlalchemy import func, select

from portal.auth import second_factor
from portal.auth.models import Role, User
from portal.auth.password_policy import password_problem
from portal.extensions import db
from portal.jobs import retries
from portal.settings import attachment_types, chorus, store, vat_exemption
from portal.settings.attachment_types import AttachmentTypes
from portal.settings.vat_exemption import VatExemption
from portal.validators import ValidationFailed

DELAY_ERROR = "Le délai doit être un nombre entier de jours, positif ou nul."
MAX_DELAY_DAYS = 3650


# -- Système tab --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SystemField:
    """A Système form field backed by one stored setting."""

    name: str
    key: str
    label: str
    is_secret: bool = False

    @property
    def env_variable(self) -> str | None:
        return chorus.ENV_OVERRIDES.get(self.key)


CONNECTION_FIELDS: tuple[SystemField, ...] = (
    SystemField("environment", chorus.ENVIRONMENT, "Environnement"),
    SystemField("client_id", chorus.CLIENT_ID, "Client ID PISTE"),
    SystemField("client_secret", chorus.CLIENT_SECRET, "Client secret PISTE", is_secret=True),
    SystemField("tech_login", chorus.TECH_LOGIN, "Login du compte technique"),
    SystemField(
        "tech_password", chorus.TECH_PASSWORD, "Mot de passe du compte technique", is_secret=True
    ),
    SystemField("user_id", chorus.USER_ID, "Identifiant utilisateur courant"),
    SystemField("supplier_id", chorus.SUPPLIER_ID, "Identifiant fournisseur"),
    SystemField("oauth_url", chorus.OAUTH_URL, "URL du service OAuth"),
    SystemField("api_url", chorus.API_URL, "URL de l'API Chorus Pro"),
)
FIELDS_BY_NAME = {f.name: f for f in CONNECTION_FIELDS}


@dataclass(frozen=True)
class SystemInput:
    """The Système form as posted (strings and check boxes), before validation."""

    environment: str = ""
    client_id: str = ""
    client_secret: str = ""
    clear_client_secret: bool = False
    tech_login: str = ""
    tech_password: str = ""
    clear_tech_password: bool = False
    user_id: str = ""
    supplier_id: str = ""
    oauth_url: str = ""
    api_url: str = ""
    auto_send_enabled: bool = False
    auto_settle: bool = False
    delay_receipts: str = ""
    delay_fee_invoices: str = ""
    cutoff_date: str = ""
    recipient_freshness_hours: str = ""
    retry_attempts: str = ""
    retry_first_delay_seconds: str = ""
    vat_exemption_code: str = ""
    default_attachment_type: str = ""


@dataclass(frozen=True)
class SystemChanges:
    """What to store. ``values``: key → text (None clears). ``secrets``: key → new plain
    secret, or None to clear; a secret absent from the mapping keeps its stored value."""

    values: dict[str, str | None] = field(default_factory=dict)
    secrets: dict[str, str | None] = field(default_factory=dict)
    auto_send_enabled: bool = False
    auto_settle: bool = False


def _clean(value: str | None) -> str:
    return (value or "").strip()


def _whole_number(
    raw: str, pattern: str, syntax_error: str, maximum: int, too_large: str
) -> int | None:
    """Empty → None; otherwise digits matching ``pattern``, at most ``maximum`` (``ValueError``
    with ``syntax_error`` or ``too_large``, French)."""
    text = _clean(raw)
    if not text:
        return None
    if not re.fullmatch(pattern, text):
        raise ValueError(syntax_error)
    number = int(text)
    if number > maximum:
        raise ValueError(too_large)
    return number


def parse_delay(raw: str) -> int | None:
    """S3: empty → None (= 0); otherwise an integer ≥ 0 (``ValueError`` with the French text)."""
    too_large = f"Le délai ne peut pas dépasser {MAX_DELAY_DAYS} jours."
    return _whole_number(raw, r"\d+", DELAY_ERROR, MAX_DELAY_DAYS, too_large)


FRESHNESS_ERROR = "La durée doit être un nombre entier d'heures, positif ou nul."


def parse_freshness_hours(raw: str) -> int | None:
    """B3: empty → None (the default); otherwise whole hours from 0 (every job) to the maximum."""
    limit = chorus.MAX_RECIPIENT_FRESHNESS_HOURS
    too_large = f"La durée ne peut pas dépasser {limit} heures ({limit // 24} jours)."
    return _whole_number(raw, r"\d{1,6}", FRESHNESS_ERROR, limit, too_large)


def parse_date(raw: str) -> date | None:
    """``2021-12-31`` (date input) or ``31/12/2021``; empty → None."""
    text = _clean(raw)
    if not text:
        return None
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, pattern).date()  # noqa: DTZ007  (a date, no time)
        except ValueError:
            continue
    raise ValueError("Date invalide : utilisez le format JJ/MM/AAAA.")


URL_ERROR = "Adresse invalide : saisissez une URL complète (https://…)."
HTTP_OUTSIDE_EMULATOR_ERROR = (
    "L'adresse doit commencer par https:// en qualification et en production "
    "(http n'est admis que pour l'émulateur, sur cette machine)."
)
HTTP_NOT_LOOPBACK_ERROR = (
    "En http, seule une adresse de cette machine (127.0.0.1, ::1, localhost) est admise : "
    "utilisez https:// pour toute autre adresse."
)
URL_CREDENTIALS_ERROR = "L'adresse ne doit contenir ni identifiant ni mot de passe."


def is_loopback_host(host: str | None) -> bool:
    """``localhost`` or a loopback address (127.0.0.0/8, ::1)."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_url(raw: str, environment: chorus.Environment) -> str | None:
    """A custom service address: https, or http to this machine for the emulator only
    (secrets travel to it, issue 12)."""
    text = _clean(raw)
    if not text:
        return None
    parts = urlsplit(text)
    try:
        parts.port  # noqa: B018  (raises on a malformed port)
    except ValueError:
        raise ValueError(URL_ERROR) from None
    if parts.scheme not in ("http", "https") or not parts.hostname or " " in text:
        raise ValueError(URL_ERROR)
    if parts.username is not None or parts.password is not None:
        raise ValueError(URL_CREDENTIALS_ERROR)
    if parts.scheme != "https":
        if environment is not chorus.Environment.EMULATOR:
            raise ValueError(HTTP_OUTSIDE_EMULATOR_ERROR)
        if not is_loopback_host(parts.hostname):
            raise ValueError(HTTP_NOT_LOOPBACK_ERROR)
    return text.rstrip("/")


def _digits(raw: str, label: str) -> str | None:
    text = re.sub(r"\s+", "", _clean(raw))
    if not text:
        return None
    if not text.isdigit():
        raise ValueError(f"{label} ne contient que des chiffres.")
    if len(text) > 18:
        raise ValueError(f"{label} comporte au plus 18 chiffres.")
    return text


@dataclass(frozen=True)
class StoredConnection:
    """What a Système post is compared with: where the secrets go today and which secrets
    are stored (keys of ``chorus.SECRET_KEYS``)."""

    destination: chorus.Destination
    stored_secrets: frozenset[str] = frozenset()


DESTINATION_FIELDS = ("environment", "oauth_url", "api_url")
SECRET_FIELDS = (("client_secret", "clear_client_secret"), ("tech_password", "clear_tech_password"))
DESTINATION_CHANGED_ERROR = (
    "Ressaisissez-le : l'environnement ou une adresse du service change, et un secret "
    "enregistré n'est jamais envoyé à une nouvelle adresse sans avoir été ressaisi."
)


def _env_secret_pins_destination(label: str, variable: str | None) -> str:
    return (
        f"{label} vient de la variable d'environnement {variable} : il n'est pas envoyé à "
        "une autre adresse. Changez l'environnement et les adresses du service par les "
        "variables d'environnement (CHORUS_ENV, CHORUS_OAUTH_URL, CHORUS_API_URL)."
    )


def _destination_errors(
    overrides: Mapping[str, str],
    current: StoredConnection,
    target: chorus.Destination,
    secrets: Mapping[str, str | None],
) -> dict[str, str]:
    """Issue 12: a new destination never receives a secret that was not typed with it.

    Each stored secret the post would keep must be typed again (or cleared); a secret that
    comes from an environment variable cannot be, so the destination then only changes by
    the environment variables too."""
    if target == current.destination:
        return {}
    changed = {
        "environment": target.environment != current.destination.environment,
        "oauth_url": target.oauth_url != current.destination.oauth_url,
        "api_url": target.api_url != current.destination.api_url,
    }
    errors: dict[str, str] = {}
    for name, _clear_name in SECRET_FIELDS:
        spec = FIELDS_BY_NAME[name]
        if spec.key in overrides:
            message = _env_secret_pins_destination(spec.label, spec.env_variable)
            for field_name in DESTINATION_FIELDS:
                if changed[field_name] and FIELDS_BY_NAME[field_name].key not in overrides:
                    errors.setdefault(field_name, message)
        elif spec.key in current.stored_secrets and spec.key not in secrets:
            errors[name] = DESTINATION_CHANGED_ERROR
    return errors


def validate_system(
    data: SystemInput,
    overrides: Mapping[str, str],
    vat: VatExemption | None = None,
    *,
    attachment_types: AttachmentTypes | None = None,
    current: StoredConnection | None = None,
) -> tuple[SystemChanges | None, dict[str, str]]:
    """Pure: check the Système form. ``overrides`` maps setting keys to the environment
    variable values that win (those fields are ignored); ``vat``: the stored VAT exemption
    code and the stored copy of Chorus's list, the only codes accepted (none when omitted);
    ``attachment_types``: the same for the default secondary attachment type; ``current``:
    the stored destination and secrets — a changed environment or service address then
    requires the stored secrets to be typed again (issue 12).
    Returns (changes, {}) or (None, {field name: French message})."""
    errors: dict[str, str] = {}
    values: dict[str, str | None] = {}
    secrets: dict[str, str | None] = {}

    def free(name: str) -> bool:
        return FIELDS_BY_NAME[name].key not in overrides

    # Environment first: the URL rules depend on it.
    environment = chorus.Environment.SANDBOX
    if free("environment"):
        try:
            environment = chorus.Environment(_clean(data.environment))
            values[chorus.ENVIRONMENT] = environment.value
        except ValueError:
            errors["environment"] = "Choisissez un environnement de la liste."
    else:
        try:
            environment = chorus.Environment(overrides[chorus.ENVIRONMENT])
        except ValueError:
            environment = chorus.Environment.SANDBOX

    for name in ("client_id", "tech_login"):
        if free(name):
            text = _clean(getattr(data, name))
            if len(text) > 200:
                errors[name] = "200 caractères au plus."
            values[FIELDS_BY_NAME[name].key] = text or None

    for name, clear_name in SECRET_FIELDS:
        if not free(name):
            continue
        new_value = getattr(data, name) or ""
        if new_value.strip() and getattr(data, clear_name):
            errors[name] = "Saisissez une nouvelle valeur ou cochez « Effacer », pas les deux."
        elif new_value.strip():
            if len(new_value) > 500:
                errors[name] = "500 caractères au plus."
            secrets[FIELDS_BY_NAME[name].key] = new_value.strip()
        elif getattr(data, clear_name):
            secrets[FIELDS_BY_NAME[name].key] = None

    for name, label in (
        ("user_id", "L'identifiant utilisateur courant"),
        ("supplier_id", "L'identifiant fournisseur"),
    ):
        if free(name):
            try:
                values[FIELDS_BY_NAME[name].key] = _digits(getattr(data, name), label)
            except ValueError as error:
                errors[name] = str(error)

    for name in ("oauth_url", "api_url"):
        if free(name):
            try:
                values[FIELDS_BY_NAME[name].key] = _check_url(getattr(data, name), environment)
            except ValueError as error:
                errors[name] = str(error)

    if current is not None and not any(name in errors for name in DESTINATION_FIELDS):

        def submitted(name: str) -> str | None:
            key = FIELDS_BY_NAME[name].key
            return values.get(key) if free(name) else overrides.get(key)

        target = chorus.destination(environment, submitted("oauth_url"), submitted("api_url"))
        errors.update(_destination_errors(overrides, current, target, secrets))

    for name, key in (
        ("delay_receipts", chorus.DELAY_RECEIPTS),
        ("delay_fee_invoices", chorus.DELAY_FEE_INVOICES),
    ):
        try:
            days = parse_delay(getattr(data, name))
            values[key] = None if days is None else str(days)
        except ValueError as error:
            errors[name] = str(error)

    try:
        cutoff = parse_date(data.cutoff_date)
        values[chorus.CUTOFF_DATE] = cutoff.isoformat() if cutoff else None
    except ValueError as error:
        errors["cutoff_date"] = str(error)

    try:
        hours = parse_freshness_hours(data.recipient_freshness_hours)
        values[chorus.RECIPIENT_FRESHNESS_HOURS] = None if hours is None else str(hours)
    except ValueError as error:
        errors["recipient_freshness_hours"] = str(error)

    for name, key, parse in (
        ("retry_attempts", retries.ATTEMPTS, retries.parse_attempts),
        ("retry_first_delay_seconds", retries.FIRST_DELAY_SECONDS, retries.parse_first_delay),
    ):
        raw = _clean(getattr(data, name))
        try:  # empty: the policy's default
            values[key] = str(parse(raw)) if raw else None
        except ValueError as error:
            errors[name] = str(error)

    try:
        code, vat_label = (vat or VatExemption.unset()).check(data.vat_exemption_code)
    except ValueError as error:
        errors["vat_exemption_code"] = str(error)
    else:
        values[chorus.VAT_EXEMPTION_CODE] = code
        values[chorus.VAT_EXEMPTION_LABEL] = vat_label
        if code is not None:
            values[chorus.VAT_EXEMPTION_CLEARED_TEXT] = None  # the migration's note is answered

    try:
        checked = attachment_types or AttachmentTypes.unset()
        values[chorus.DEFAULT_ATTACHMENT_TYPE] = checked.check_default(data.default_attachment_type)
    except ValueError as error:
        errors["default_attachment_type"] = str(error)

    if errors:
        return None, errors
    return SystemChanges(
        values=values,
        secrets=secrets,
        auto_send_enabled=data.auto_send_enabled,
        auto_settle=data.auto_settle,
    ), {}


def current_overrides() -> dict[str, str]:
    """Setting key → environment value, for every Chorus setting set by the environment."""
    found = {key: chorus.env_override(key) for key in chorus.ENV_OVERRIDES}
    return {key: value for key, value in found.items() if value is not None}


def save_system(changes: SystemChanges) -> None:
    """Store validated Système settings (secrets encrypted). Flushes."""
    for key, value in changes.values.items():
        store.put(key, value)
    for key, secret in changes.secrets.items():
        if secret is None:
            store.put(key, None)
        else:
            store.put_secret(key, secret)
    store.put_bool(chorus.AUTO_SEND_ENABLED, changes.auto_send_enabled)
    store.put_bool(chorus.AUTO_SETTLE, changes.auto_settle)
    db.session.flush()


def stored_connection() -> StoredConnection:
    """The destination in force (environment variables included) and the stored secrets."""
    return StoredConnection(
        destination=chorus.load().destination,
        stored_secrets=frozenset(key for key in chorus.SECRET_KEYS if store.has(key)),
    )


def update_system(data: SystemInput) -> SystemChanges:
    """Validate then store; raises ``ValidationFailed`` with every French error."""
    changes, errors = validate_system(
        data,
        current_overrides(),
        vat_exemption.current(),
        attachment_types=attachment_types.current(),
        current=stored_connection(),
    )
    if changes is None:
        raise ValidationFailed(errors)
    save_system(changes)
    return changes


def system_form_data() -> dict[str, object]:
    """Stored (not environment) values to pre-fill the Système form. Never the secrets."""
    cutoff = store.get(chorus.CUTOFF_DATE)
    return {
        "environment": store.get(chorus.ENVIRONMENT) or chorus.Environment.EMULATOR.value,
        "client_id": store.get(chorus.CLIENT_ID) or "",
        "tech_login": store.get(chorus.TECH_LOGIN) or "",
        "user_id": store.get(chorus.USER_ID) or "",
        "supplier_id": store.get(chorus.SUPPLIER_ID) or "",
        "oauth_url": store.get(chorus.OAUTH_URL) or "",
        "api_url": store.get(chorus.API_URL) or "",
        "auto_send_enabled": store.get_bool(chorus.AUTO_SEND_ENABLED),
        "auto_settle": store.get_bool(chorus.AUTO_SETTLE),
        "delay_receipts": store.get(chorus.DELAY_RECEIPTS) or "",
        "delay_fee_invoices": store.get(chorus.DELAY_FEE_INVOICES) or "",
        "cutoff_date": cutoff or "",
        "recipient_freshness_hours": store.get(chorus.RECIPIENT_FRESHNESS_HOURS) or "",
        "retry_attempts": store.get(retries.ATTEMPTS) or "",
        "retry_first_delay_seconds": store.get(retries.FIRST_DELAY_SECONDS) or "",
        "vat_exemption_code": store.get(chorus.VAT_EXEMPTION_CODE) or "",
        "default_attachment_type": store.get(chorus.DEFAULT_ATTACHMENT_TYPE) or "",
    }


@dataclass(frozen=True)
class FieldState:
    """How a connection field is shown: editable, or read-only because of the environment."""

    name: str
    label: str
    is_secret: bool
    env_variable: str | None
    overridden: bool
    # For an overridden non-secret field: the environment value (the environment's label for
    # the environment itself). Never set for secrets.
    env_value: str | None
    # For a secret: whether a value is stored (the value itself is never shown).
    is_stored: bool
    # A stored secret the current encryption key cannot decrypt.
    is_unreadable: bool = False


def _env_display(spec: SystemField, overrides: Mapping[str, str]) -> str | None:
    if spec.is_secret:
        return None
    value = overrides[spec.key]
    if spec.key == chorus.ENVIRONMENT:
        try:
            return chorus.Environment(value).label
        except ValueError:
            return value
    return value


def field_states(unreadable: frozenset[str] = frozenset()) -> dict[str, FieldState]:
    """Display state of every connection field; ``unreadable``: secret keys that cannot be
    decrypted (``ChorusSettings.unreadable_secrets``)."""
    overrides = current_overrides()
    states = {}
    for spec in CONNECTION_FIELDS:
        overridden = spec.key in overrides
        states[spec.name] = FieldState(
            name=spec.name,
            label=spec.label,
            is_secret=spec.is_secret,
            env_variable=spec.env_variable,
            overridden=overridden,
            env_value=_env_display(spec, overrides) if overridden else None,
            is_stored=spec.is_secret and store.has(spec.key),
            is_unreadable=spec.key in unreadable,
        )
    return states


# -- Assurances tab -----------------------------------------------------------------------------


def save_insurance(*, chorus_enabled: bool) -> None:
    """S1 switch. Flushes."""
    store.put_bool(chorus.CHORUS_ENABLED, chorus_enabled)
    db.session.flush()


# -- users --------------------------------------------------------------------------------------

SELF_DISABLE_ERROR = "Vous ne pouvez pas désactiver votre propre compte."
SELF_DEMOTE_ERROR = "Vous ne pouvez pas retirer votre propre rôle d'administrateur."
USERNAME_TAKEN_ERROR = "Cet identifiant est déjà utilisé."


def validate_user_change(
    acting: User, target: User, *, role: str, is_enabled: bool
) -> dict[str, str]:
    """Pure: an administrator cannot lock themself out (disable or demote their account)."""
    errors: dict[str, str] = {}
    try:
        Role(role)
    except ValueError:
        errors["role"] = "Choisissez un rôle de la liste."
    if acting.id == target.id:
        if not is_enabled:
            errors["is_enabled"] = SELF_DISABLE_ERROR
        if role != Role.ADMIN and "role" not in errors:
            errors["role"] = SELF_DEMOTE_ERROR
    return errors


def users_by_name() -> list[User]:
    """Every user, by username (« Utilisateurs »)."""
    return list(db.session.scalars(select(User).order_by(User.username)))


def username_taken(username: str, *, exclude_id: int | None = None) -> bool:
    """Case-insensitive, so ``Admin`` and ``admin`` cannot both exist."""
    query = select(User.id).where(func.lower(User.username) == username.strip().lower())
    if exclude_id is not None:
        query = query.where(User.id != exclude_id)
    return db.session.scalar(query) is not None


def create_user(
    *,
    username: str,
    password: str,
    role: str = Role.LECTURE,
    full_name: str = "",
    email: str | None = None,
    is_enabled: bool = True,
) -> User:
    """Create an account; raises ``ValidationFailed``. Flushes."""
    errors: dict[str, str] = {}
    username = username.strip()
    if not username:
        errors["username"] = "Saisissez l'identifiant."
    elif username_taken(username):
        errors["username"] = USERNAME_TAKEN_ERROR
    if problem := password_problem(password, username):  # issue 12's password policy
        errors["password"] = problem
    try:
        Role(role)
    except ValueError:
        errors["role"] = "Choisissez un rôle de la liste."
    if errors:
        raise ValidationFailed(errors)
    user = User(
        username=username,
        full_name=full_name.strip(),
        email=(email or "").strip() or None,
        role=Role(role),
        is_enabled=is_enabled,
    )
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def update_user(
    acting: User,
    target: User,
    *,
    full_name: str,
    email: str | None,
    role: str,
    is_enabled: bool,
) -> User:
    """Edit an account and return it; raises ``ValidationFailed`` (nothing changed then). Flushes.

    A new role or disabling ends the account's open sessions (issue 12).
    """
    errors = validate_user_change(acting, target, role=role, is_enabled=is_enabled)
    if errors:
        raise ValidationFailed(errors)
    if role != target.role or (target.is_enabled and not is_enabled):
        target.end_sessions()
    target.full_name = full_name.strip()
    target.email = (email or "").strip() or None
    target.role = Role(role)
    target.is_enabled = is_enabled
    db.session.flush()
    return target


def reset_password(target: User, password: str) -> User:
    """Set a new password, ending the account's open sessions, and return the account; raises
    ``ValidationFailed``. Flushes."""
    if problem := password_problem(password, target.username):
        raise ValidationFailed({"password": problem})
    target.set_password(password)
    target.end_sessions()
    db.session.flush()
    return target


def reset_second_factor(target: User) -> None:
    """Turn off a user's second factor (a lost phone), ending their open sessions. Flushes."""
    second_factor.remove(target)
    target.end_sessions()
    db.session.flush()


def save_second_factor_rule(*, required_for_admins: bool) -> None:
    """« Double authentification obligatoire pour les administrateurs ». Flushes."""
    second_factor.set_required_for_admins(required_for_admins)
