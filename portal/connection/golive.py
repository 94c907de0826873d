"""« Mise en service »: every step a broker must pass before production, run against Chorus.

The go-live checklist (issue 10 §7) extends the connection test (B5, :mod:`diagnostics`):
same :class:`~portal.connection.diagnostics.CheckStep`, plus Chorus's exact answer for each step
(read from the client's observer: operation, HTTP status, ``codeRetour``, ``libelle``; never
a body, never a secret) and what to do in French. It takes a built client and plain values
(no database): :func:`portal.connection.golive_service.run` gathers them.

Steps, in order: PISTE token; technical account (``cpro-account``); supplier structure
active; bank coordinates; VAT exemption code; attachment types; for a chosen public client,
its structure's rules; for a chosen contract, its service. A step that cannot run because an
earlier one failed is « non vérifié ».
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from portal.chorus.client import ChorusClient, Exchange
from portal.chorus.errors import (
    ChorusAuthenticationError,
    ChorusError,
    ChorusRefused,
    ChorusUnavailable,
)
from portal.chorus.results import (
    PUBLIC_SERVICE_CODE,
    AttachmentType,
    BankDetails,
    ServiceSummary,
    StructureDetail,
    SupplierStructure,
    VatExemptionReason,
)
from portal.connection.diagnostics import (
    TOKEN_STEP,
    VAT_EXEMPTION_STEP,
    CheckStep,
    StepStatus,
    vat_exemption_verdict,
)
from portal.sending.rules import REASONS, clean

ACCOUNT_STEP = "Compte technique (en-tête cpro-account)"
SUPPLIER_STEP = "Structure du fournisseur active"
BANK_STEP = "Coordonnées bancaires du fournisseur"
VAT_STEP = VAT_EXEMPTION_STEP
ATTACHMENT_STEP = "Types de pièces jointes"
RECIPIENT_STEP = "Structure du client public"
SERVICE_STEP = "Service du contrat"

SETTINGS_PLACE = "Administration › Paramètres › Système"
MAX_LIBELLE = 300  # characters of a ``libelle`` shown (Chorus's answer, bounded)
MAX_LISTED = 10  # codes listed in a message before « … »


# -- what the checklist is given and what it finds ---------------------------------------------


@dataclass(frozen=True)
class BankAccountCode:
    """A broker bank account as the checklist sees it."""

    label: str
    code: int | None  # « Code du compte bancaire fournisseur »
    used_for_chorus: bool = False  # a Chorus-enabled contract pays into it


@dataclass(frozen=True)
class Recipient:
    """The chosen public client, and optionally one of its Chorus-enabled contracts."""

    client_name: str
    siret: str
    contract_number: str | None = None
    service_code: str | None = None
    engagement_number: str | None = None


@dataclass(frozen=True)
class Inputs:
    supplier_id: int | None
    vat_exemption_code: str | None
    default_attachment_type: str | None
    bank_accounts: tuple[BankAccountCode, ...] = ()
    recipient: Recipient | None = None


@dataclass(frozen=True)
class ContractService:
    """The contract's service as Chorus knows it (None fields: not found / not consulted)."""

    code: str
    found: ServiceSummary | None
    engagement_required: bool | None


@dataclass(frozen=True)
class Report:
    steps: tuple[CheckStep, ...]
    recipient: Recipient | None = None
    recipient_structure: StructureDetail | None = None
    contract_service: ContractService | None = None
    supplier_structure: StructureDetail | None = None
    # Lists read on the way (the caller stores them as the reference copies).
    vat_reasons: tuple[VatExemptionReason, ...] | None = None
    attachment_types: tuple[AttachmentType, ...] | None = None

    @property
    def ok(self) -> bool:
        """Every step passed (a step not checked is not a pass)."""
        return all(step.ok for step in self.steps)

    @property
    def failed(self) -> tuple[CheckStep, ...]:
        return tuple(step for step in self.steps if step.status is StepStatus.FAILED)


# -- Chorus's answer, as shown ------------------------------------------------------------------


class ExchangeLog:
    """A client observer keeping the exchanges of one run (they hold no body, no secret)."""

    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []

    def __call__(self, exchange: Exchange) -> None:
        self.exchanges.append(exchange)

    def mark(self) -> int:
        return len(self.exchanges)

    def lines_since(self, mark: int) -> tuple[str, ...]:
        return tuple(describe(exchange) for exchange in self.exchanges[mark:])


def describe(exchange: Exchange) -> str:
    """« structures/consulter → HTTP 200 · codeRetour 0 · « GCU_MSG_01_000 » »."""
    parts: list[str] = []
    if exchange.http_status is not None:
        parts.append(f"HTTP {exchange.http_status}")
    if exchange.code_retour is not None:
        parts.append(f"codeRetour {exchange.code_retour}")
    if exchange.libelle:
        libelle = exchange.libelle[:MAX_LIBELLE]
        parts.append(f"« {libelle}{'…' if len(exchange.libelle) > MAX_LIBELLE else ''} »")
    if not parts:
        parts.append("réponse vide" if exchange.ok else (exchange.message or "pas de réponse"))
    if exchange.attempts > 1:
        parts.append(f"{exchange.attempts} tentatives")
    return f"{exchange.operation} → " + " · ".join(parts)


# -- what to do ---------------------------------------------------------------------------------

PISTE_ADVICE = (
    f"Vérifiez le client ID et le client secret PISTE ({SETTINGS_PLACE}) et que l'application "
    "PISTE est abonnée à l'API Chorus Pro de cet environnement (qualification ou production)."
)
ACCOUNT_ADVICE = (
    f"Vérifiez le login et le mot de passe du compte technique ({SETTINGS_PLACE}) : le mot de "
    "passe expire tous les 424 jours et se change dans Chorus Pro. Le compte doit être un compte "
    "technique rattaché à votre structure, habilité à l'espace « Factures émises »."
)
FORBIDDEN_ADVICE = (
    "Abonnez l'application PISTE à l'API Chorus Pro de cet environnement, et rattachez le compte "
    "technique à la structure concernée dans Chorus Pro."
)
UNAVAILABLE_ADVICE = (
    "Chorus Pro ne répond pas ou est saturé : relancez la vérification dans quelques minutes ; "
    "si cela dure, vérifiez l'adresse de l'API et l'accès du serveur à Internet."
)
REFUSED_ADVICE = "Chorus Pro a refusé la demande : lisez son libellé ci-dessus."
SUPPLIER_REFUSED_ADVICE = (
    f"Choisissez l'identifiant fournisseur parmi les structures du compte technique "
    f"(« Rechercher », {SETTINGS_PLACE})."
)
RECIPIENT_REFUSED_ADVICE = "Vérifiez le SIRET sur la fiche du client, puis relancez."
SKIP_NO_TOKEN = "Non vérifié : aucun jeton d'accès n'a pu être obtenu."  # noqa: S105  (a message)
SKIP_NO_ACCOUNT = "Non vérifié : le compte technique n'a pas été accepté."
SKIP_NO_SUPPLIER = "Non vérifié : la structure du fournisseur n'est pas validée."
SKIP_NO_CLIENT = "Non vérifié : aucun client public n'a été choisi."
SKIP_NO_CONTRACT = "Non vérifié : aucun contrat n'a été choisi."
SKIP_NO_STRUCTURE = "Non vérifié : la structure du client n'est pas validée."


def advice_for(error: ChorusError, refused: str = REFUSED_ADVICE) -> str:
    """What to do after ``error`` (``refused``: the step's own advice for a refusal)."""
    if isinstance(error, ChorusAuthenticationError):
        if error.stage == "token":
            return PISTE_ADVICE
        return FORBIDDEN_ADVICE if error.http_status == 403 else ACCOUNT_ADVICE
    if isinstance(error, ChorusUnavailable):
        return UNAVAILABLE_ADVICE
    if isinstance(error, ChorusRefused) and error.http_status in (401, 403):
        return FORBIDDEN_ADVICE if error.http_status == 403 else ACCOUNT_ADVICE
    return refused


# -- the checklist ------------------------------------------------------------------------------


@dataclass
class _Outcome:
    status: StepStatus
    message: str
    advice: str | None = None


def _ok(message: str) -> _Outcome:
    return _Outcome(StepStatus.OK, message)


def _failed(message: str, advice: str) -> _Outcome:
    return _Outcome(StepStatus.FAILED, message, advice)


@dataclass
class _Run:
    client: ChorusClient
    inputs: Inputs
    log: ExchangeLog
    steps: list[CheckStep] = field(default_factory=list)
    supplier_structures: list[SupplierStructure] = field(default_factory=list)
    supplier_structure: StructureDetail | None = None
    vat_reasons: tuple[VatExemptionReason, ...] | None = None
    attachment_types: tuple[AttachmentType, ...] | None = None
    recipient_structure: StructureDetail | None = None
    contract_service: ContractService | None = None

    def step(
        self, label: str, check: Callable[[], _Outcome], refused_advice: str = REFUSED_ADVICE
    ) -> bool:
        """Run one check and record its step; True when it passed."""
        mark = self.log.mark()
        try:
            outcome = check()
        except ChorusError as error:
            outcome = _failed(str(error), advice_for(error, refused_advice))
        self.steps.append(
            CheckStep(
                label,
                outcome.status,
                outcome.message,
                answer=self.log.lines_since(mark),
                advice=outcome.advice,
            )
        )
        return outcome.status is StepStatus.OK

    def skip(self, labels: Sequence[str], reason: str) -> None:
        self.steps.extend(CheckStep(label, StepStatus.SKIPPED, reason) for label in labels)

    # -- steps ------------------------------------------------------------------------------

    def token(self) -> _Outcome:
        info = self.client.obtain_token(force=True)
        return _ok(f"Jeton obtenu (valable {max(info.expires_in // 60, 1)} min).")

    def account(self) -> _Outcome:
        self.supplier_structures = [
            s for s in self.client.list_supplier_structures() if s.id_structure_cpp > 0
        ]
        if not self.supplier_structures:
            return _failed(
                "Le compte technique est accepté mais n'est rattaché à aucune structure active "
                "de l'espace « Factures émises ».",
                "Dans Chorus Pro, rattachez le compte technique à la structure du cabinet et "
                "habilitez-le à l'espace « Factures émises ».",
            )
        names = ", ".join(_structure_label(s) for s in self.supplier_structures[:MAX_LISTED])
        return _ok(f"Compte technique accepté ; structure(s) rattachée(s) : {names}.")

    def supplier(self, supplier_id: int | None) -> _Outcome:
        if supplier_id is None:
            return _failed(
                "L'identifiant fournisseur n'est pas renseigné.",
                f"Choisissez-le avec « Rechercher » à côté du champ ({SETTINGS_PLACE}).",
            )
        if supplier_id not in {s.id_structure_cpp for s in self.supplier_structures}:
            known = ", ".join(str(s.id_structure_cpp) for s in self.supplier_structures)
            return _failed(
                f"La structure {supplier_id} n'est pas parmi les structures actives du compte "
                f"technique ({known}).",
                f"Choisissez l'identifiant fournisseur parmi celles-ci ({SETTINGS_PLACE}), ou "
                "rattachez le compte technique à cette structure dans Chorus Pro.",
            )
        detail = self.client.get_structure(supplier_id)
        self.supplier_structure = detail
        name = detail.designation or f"n° {supplier_id}"
        message = f"Structure {supplier_id} « {name} » active et rattachée au compte technique."
        if detail.password_expires_on is not None:
            expiry = detail.password_expires_on.strftime("%d/%m/%Y")
            message += f" Mot de passe du compte technique valable jusqu'au {expiry}."
        return _ok(message)

    def bank(self, supplier_id: int) -> _Outcome:
        details = [
            d for d in self.client.list_bank_details(supplier_id) if d.id_coordonnee_bancaire > 0
        ]
        return bank_verdict(details, self.inputs.bank_accounts)

    def vat(self) -> _Outcome:
        self.vat_reasons = tuple(self.client.list_vat_exemption_reasons())
        step = vat_exemption_verdict(self.vat_reasons, self.inputs.vat_exemption_code)
        return _Outcome(step.status, step.message, step.advice)

    def attachment_types_step(self) -> _Outcome:
        self.attachment_types = tuple(self.client.list_attachment_types())
        return attachment_verdict(self.attachment_types, self.inputs.default_attachment_type)

    def recipient(self, recipient: Recipient) -> _Outcome:
        found = [
            s
            for s in self.client.search_structures(recipient.siret)
            if s.identifiant in (None, recipient.siret)
        ]
        if not found:
            return _failed(
                REASONS["B3_STRUCTURE_NOT_FOUND"].message + f" (SIRET {recipient.siret})",
                "Vérifiez le SIRET sur la fiche du client : c'est celui de la structure "
                "publique inscrite dans Chorus Pro (demandez-le au client, il figure sur ses "
                "bons de commande).",
            )
        summary = found[0]
        if not summary.is_active:
            return _failed(
                REASONS["B3_STRUCTURE_INACTIVE"].message
                + f" ({summary.designation or summary.id_structure_cpp}, statut {summary.statut})",
                "Demandez au client la structure active à laquelle facturer, puis corrigez son "
                "SIRET sur sa fiche.",
            )
        detail = self.client.get_structure(summary.id_structure_cpp)
        self.recipient_structure = detail
        name = detail.designation or summary.designation or str(summary.id_structure_cpp)
        rules = " ; ".join(structure_rules(detail))
        return _ok(
            f"Structure {detail.id_structure_cpp or summary.id_structure_cpp} « {name} » "
            f"active. Règles : {rules}."
        )

    def service(self, recipient: Recipient, structure: StructureDetail) -> _Outcome:
        structure_id = structure.id_structure_cpp
        services = self.client.list_services(structure_id)
        code = clean(recipient.service_code)
        found = next((s for s in services if s.code == code), None) if code else None
        engagement_required: bool | None = None
        if found is not None and found.is_usable and found.id_service > 0:
            detail = self.client.get_service(structure_id, found.id_service)
            engagement_required = detail.engagement_required
        self.contract_service = ContractService(code, found, engagement_required)
        return service_verdict(
            structure,
            self.contract_service,
            clean(recipient.engagement_number),
            usable=[s.code for s in services if s.is_usable],
        )

    # -- order --------------------------------------------------------------------------------

    def run(self) -> None:
        if not self.step(TOKEN_STEP, self.token):
            self.skip(_AFTER_TOKEN, SKIP_NO_TOKEN)
            return
        if not self.step(ACCOUNT_STEP, self.account):
            self.skip(_AFTER_TOKEN[1:], SKIP_NO_ACCOUNT)
            return
        supplier_id = self.inputs.supplier_id
        supplier_ok = self.step(
            SUPPLIER_STEP, lambda: self.supplier(supplier_id), SUPPLIER_REFUSED_ADVICE
        )
        if supplier_ok and supplier_id:
            self.step(BANK_STEP, lambda: self.bank(supplier_id))
        else:
            self.skip([BANK_STEP], SKIP_NO_SUPPLIER)
        self.step(VAT_STEP, self.vat)
        self.step(ATTACHMENT_STEP, self.attachment_types_step)
        recipient = self.inputs.recipient
        if recipient is None:
            self.skip([RECIPIENT_STEP, SERVICE_STEP], SKIP_NO_CLIENT)
            return
        self.step(RECIPIENT_STEP, lambda: self.recipient(recipient), RECIPIENT_REFUSED_ADVICE)
        structure = self.recipient_structure
        if structure is None:
            self.skip([SERVICE_STEP], SKIP_NO_STRUCTURE)
        elif recipient.contract_number is None:
            self.skip([SERVICE_STEP], SKIP_NO_CONTRACT)
        else:
            self.step(SERVICE_STEP, lambda: self.service(recipient, structure))


_AFTER_TOKEN = (
    ACCOUNT_STEP,
    SUPPLIER_STEP,
    BANK_STEP,
    VAT_STEP,
    ATTACHMENT_STEP,
    RECIPIENT_STEP,
    SERVICE_STEP,
)
STEPS = (TOKEN_STEP, *_AFTER_TOKEN)


def run(client: ChorusClient, inputs: Inputs, log: ExchangeLog) -> Report:
    """Every step against Chorus with ``client`` (built with ``log`` as its observer)."""
    checklist = _Run(client, inputs, log)
    checklist.run()
    return Report(
        steps=tuple(checklist.steps),
        recipient=inputs.recipient,
        recipient_structure=checklist.recipient_structure,
        contract_service=checklist.contract_service,
        supplier_structure=checklist.supplier_structure,
        vat_reasons=checklist.vat_reasons,
        attachment_types=checklist.attachment_types,
    )


# -- verdicts (pure) ----------------------------------------------------------------------------


def bank_verdict(details: Sequence[BankDetails], accounts: Sequence[BankAccountCode]) -> _Outcome:
    """Chorus has valid bank coordinates, and every account's code is one of them."""
    if not details:
        return _failed(
            "Chorus Pro n'a aucune coordonnée bancaire valide pour la structure du fournisseur.",
            "Déclarez le RIB du cabinet dans Chorus Pro (gestion de la structure, coordonnées "
            "bancaires), puis reportez son code dans chaque compte bancaire du portail "
            "(« Code du compte bancaire fournisseur »).",
        )
    valid = {d.id_coordonnee_bancaire for d in details}
    listed = ", ".join(_bank_label(d) for d in details[:MAX_LISTED])
    unknown = [a for a in accounts if a.code is not None and a.code not in valid]
    missing = [a for a in accounts if a.code is None and a.used_for_chorus]
    if unknown or missing:
        problems = [f"{a.label} : code {a.code} inconnu de Chorus Pro" for a in unknown]
        problems += [f"{a.label} : aucun code (compte d'un contrat Chorus Pro)" for a in missing]
        return _failed(
            "Comptes bancaires à corriger — " + " ; ".join(problems) + f". Coordonnées "
            f"valides dans Chorus Pro : {listed}.",
            "Sur chaque compte bancaire cité (Sociétés › compte bancaire), choisissez le « Code "
            "du compte bancaire fournisseur » avec « Récupérer depuis Chorus Pro ».",
        )
    message = f"Coordonnées bancaires valides dans Chorus Pro : {listed}."
    coded = [a for a in accounts if a.code is not None]
    if coded:
        message += f" Comptes bancaires du portail avec un code : {len(coded)}, tous connus."
    uncoded = [a.label for a in accounts if a.code is None]
    if uncoded:
        message += (
            " Sans code (aucun contrat Chorus Pro ne les utilise) : "
            + ", ".join(uncoded[:MAX_LISTED])
            + "."
        )
    return _ok(message)


def attachment_verdict(types: Sequence[AttachmentType], default: str | None) -> _Outcome:
    """Chorus lists attachment types, and the default type (when set) is one of them."""
    if not types:
        return _failed(
            "Chorus Pro n'a renvoyé aucun type de pièce jointe.",
            "Relancez la vérification plus tard ; si la liste reste vide, signalez-le au "
            "support Chorus Pro.",
        )
    codes = ", ".join(t.code for t in types[:MAX_LISTED]) + ("…" if len(types) > MAX_LISTED else "")
    if default and default not in {t.code for t in types}:
        return _failed(
            f"Le type de pièce jointe par défaut « {default} » n'est pas dans la liste de "
            f"Chorus Pro ({codes}).",
            f"Choisissez un type par défaut parmi ceux de Chorus Pro ({SETTINGS_PLACE}).",
        )
    message = f"{len(types)} type(s) proposé(s) : {codes}."
    if default:
        message += f" Le type par défaut « {default} » en fait partie."
    else:
        message += " Aucun type par défaut n'est choisi."
    return _ok(message)


def structure_rules(structure: StructureDetail) -> list[str]:
    """The structure's invoicing rules, in French (B3)."""

    def yes_no(value: bool) -> str:
        return "oui" if value else "non"

    return [
        f"code service obligatoire : {yes_no(structure.service_code_required)}",
        f"numéro d'engagement obligatoire : {yes_no(structure.engagement_required)}",
        f"code service ou numéro d'engagement : {yes_no(structure.engagement_or_service_required)}",
        f"mise en paiement non remontée : {yes_no(structure.payment_status_not_reported)}",
    ]


def service_problems(
    structure: StructureDetail, service: ContractService, engagement: str
) -> list[str]:
    """Reason codes (``rules.REASONS``) the contract's service and engagement break (B3)."""
    codes: list[str] = []
    found = service.found
    if not service.code:
        codes.append("S9_NO_SERVICE_CODE")
        if structure.service_code_required:
            codes.append("B3_SERVICE_CODE_REQUIRED")
    elif service.code == PUBLIC_SERVICE_CODE:
        codes.append("B3_SERVICE_PUBLIC_TO_PUBLIC")
    elif found is None:
        codes.append("B3_SERVICE_UNKNOWN")
    elif not found.is_active:
        codes.append("B3_SERVICE_INACTIVE")
    if not engagement:
        if structure.engagement_required:
            codes.append("B3_ENGAGEMENT_REQUIRED")
        if service.engagement_required:
            codes.append("B3_SERVICE_ENGAGEMENT_REQUIRED")
        if structure.engagement_or_service_required and not service.code:
            codes.append("B3_ENGAGEMENT_OR_SERVICE_REQUIRED")
    return codes


_SERVICE_ADVICE = {
    "S9_NO_SERVICE_CODE": "Renseignez le code service sur la fiche du contrat.",
    "B3_SERVICE_CODE_REQUIRED": "Renseignez le code service sur la fiche du contrat.",
    "B3_SERVICE_PUBLIC_TO_PUBLIC": "Choisissez un autre service sur la fiche du contrat.",
    "B3_SERVICE_UNKNOWN": "Corrigez le code service sur la fiche du contrat.",
    "B3_SERVICE_INACTIVE": (
        "Demandez au client le service actif à facturer, puis corrigez le contrat."
    ),
    "B3_ENGAGEMENT_REQUIRED": (
        "Renseignez sur le contrat le numéro d'engagement (bon de commande) donné par le client."
    ),
    "B3_SERVICE_ENGAGEMENT_REQUIRED": (
        "Renseignez sur le contrat le numéro d'engagement (bon de commande) donné par le client."
    ),
    "B3_ENGAGEMENT_OR_SERVICE_REQUIRED": (
        "Renseignez le code service ou le numéro d'engagement sur la fiche du contrat."
    ),
}


def service_verdict(
    structure: StructureDetail,
    service: ContractService,
    engagement: str,
    *,
    usable: Sequence[str],
) -> _Outcome:
    """The contract's service exists, is active, and its engagement rule is met (B3)."""
    codes = service_problems(structure, service, engagement)
    found = service.found
    facts = []
    if found is not None:
        state = "actif" if found.is_active else "inactif"
        label = f" ({found.label})" if found.label else ""
        facts.append(f"Service « {found.code} »{label} {state} dans Chorus Pro.")
    if service.engagement_required is not None:
        required = "oui" if service.engagement_required else "non"
        facts.append(f"Numéro d'engagement exigé par le service : {required}.")
    facts.append(
        f"Numéro d'engagement du contrat : {engagement}."
        if engagement
        else "Le contrat n'a pas de numéro d'engagement."
    )
    if not codes:
        return _ok(" ".join(facts))
    problems = " ".join(REASONS[code].message for code in codes)
    advice = " ".join(dict.fromkeys(_SERVICE_ADVICE[code] for code in codes))
    if usable and any(code.startswith(("S9_NO_SERVICE", "B3_SERVICE")) for code in codes):
        listed = ", ".join(usable[:MAX_LISTED]) + ("…" if len(usable) > MAX_LISTED else "")
        advice += f" Services actifs de la structure : {listed}."
    return _failed(f"{problems} {' '.join(facts)}", advice)


def _structure_label(structure: SupplierStructure) -> str:
    name = f" « {structure.designation} »" if structure.designation else ""
    return f"{structure.id_structure_cpp}{name}"


def _bank_label(details: BankDetails) -> str:
    name = f" « {details.name} »" if details.name else ""
    return f"{details.id_coordonnee_bancaire}{name}"
