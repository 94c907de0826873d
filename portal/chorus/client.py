"""The one class that talks to Chorus Pro (PISTE gateway): token, headers, errors, retries.

Every call is sent with the PISTE bearer token, the ``cpro-account`` header of the technical
account and the JSON headers, under explicit (connect, read) timeouts. Answers are turned
into the typed results of :mod:`portal.chorus.results` or into one of the three errors of
:mod:`portal.chorus.errors`. Lookups and ``ajouter/fichier`` are retried with backoff;
``soumettre`` never is (see :meth:`ChorusClient.submit_invoice`).
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from portal.chorus import jsonbody
from portal.chorus.errors import (
    ChorusAuthenticationError,
    ChorusError,
    ChorusRefused,
    ChorusUnavailable,
)
from portal.chorus.http import ChorusSession
from portal.chorus.results import (
    AttachmentType,
    BankDetails,
    HealthStatus,
    InvoiceDetail,
    InvoiceHistory,
    InvoiceSummary,
    ServiceDetail,
    ServiceSummary,
    StructureDetail,
    StructureSummary,
    SubmittedInvoice,
    SupplierStructure,
    TokenInfo,
    UploadedAttachment,
    VatExemptionReason,
    as_int,
    json_rows,
)
from portal.chorus.tokens import DEFAULT_CACHE, TokenCache, credentials_key

logger = logging.getLogger("portal.chorus")

JSON_CONTENT_TYPE = "application/json;charset=utf-8"
EMPTY_RESULT_CODE = 20000  # "la recherche n'a retourné aucun résultat": an empty list
MAX_PAGES = 200


@dataclass(frozen=True)
class Operation:
    """One Chorus Pro operation: its name (as in the API notes), path and retry rule."""

    name: str
    path: str
    method: str = "POST"
    retryable: bool = True
    empty_result_allowed: bool = False


TOKEN = "token"  # noqa: S105  (an operation name, not a secret)
HEALTH_CHECK = Operation("transverses/health-check", "/cpro/transverses/v1/health-check", "GET")
ADD_FILE = Operation("transverses/ajouter/fichier", "/cpro/transverses/v1/ajouter/fichier")
SUBMIT = Operation("factures/soumettre", "/cpro/factures/v1/soumettre", retryable=False)
SEARCH_INVOICES = Operation(
    "factures/rechercher/fournisseur",
    "/cpro/factures/v1/rechercher/fournisseur",
    empty_result_allowed=True,
)
GET_INVOICE = Operation("factures/consulter/fournisseur", "/cpro/factures/v1/consulter/fournisseur")
GET_HISTORY = Operation("factures/consulter/historique", "/cpro/factures/v1/consulter/historique")
SEARCH_STRUCTURES = Operation(
    "structures/rechercher", "/cpro/structures/v1/rechercher", empty_result_allowed=True
)
GET_STRUCTURE = Operation("structures/consulter", "/cpro/structures/v1/consulter")
SEARCH_SERVICES = Operation(
    "structures/rechercher/services",
    "/cpro/structures/v1/rechercher/services",
    empty_result_allowed=True,
)
GET_SERVICE = Operation("structures/consulter/service", "/cpro/structures/v1/consulter/service")
SUPPLIER_STRUCTURES = Operation(
    "transverses/recuperer/structures/actives/fournisseur",
    "/cpro/transverses/v1/recuperer/structures/actives/fournisseur",
    empty_result_allowed=True,
)
BANK_DETAILS = Operation(
    "transverses/recuperer/coordbanc/valides",
    "/cpro/transverses/v1/recuperer/coordbanc/valides",
    empty_result_allowed=True,
)
VAT_EXEMPTION_REASONS = Operation(
    "transverses/recuperer/motifs/exonerationtva",
    "/cpro/transverses/v1/recuperer/motifs/exonerationtva",
    empty_result_allowed=True,
)
ATTACHMENT_TYPES = Operation(
    "transverses/recuperer/typespj",
    "/cpro/transverses/v1/recuperer/typespj",
    empty_result_allowed=True,
)
# The ``typeObjet`` of an invoice's attachments (go-choruspro's TypeObjet list, EVIDENCE.md § 2).
INVOICE_OBJECT_TYPE = "FACTURE"

OPERATIONS: tuple[Operation, ...] = (
    HEALTH_CHECK,
    ADD_FILE,
    SUBMIT,
    SEARCH_INVOICES,
    GET_INVOICE,
    GET_HISTORY,
    SEARCH_STRUCTURES,
    GET_STRUCTURE,
    SEARCH_SERVICES,
    GET_SERVICE,
    SUPPLIER_STRUCTURES,
    BANK_DETAILS,
    VAT_EXEMPTION_REASONS,
    ATTACHMENT_TYPES,
)


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff; ``Retry-After`` wins when the server sends one."""

    max_attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 8.0
    # A longer Retry-After is not waited for here: the caller gets the error (with the delay)
    # and may reschedule the work instead of holding a worker.
    max_retry_after: float = 30.0

    def delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or None to give up."""
        if attempt >= self.max_attempts:
            return None
        if retry_after is not None:
            return retry_after if retry_after <= self.max_retry_after else None
        return min(self.base_delay * (2 ** (attempt - 1)), self.max_delay)


NO_RETRY = RetryPolicy(max_attempts=1)


@dataclass(frozen=True)
class Exchange:
    """What observers learn about one finished operation (no bodies, no secrets)."""

    operation: str
    ok: bool
    http_status: int | None
    code_retour: int | None
    attempts: int
    duration_ms: int
    message: str | None = None
    # Chorus's own ``libelle`` (a message key or French text), when it answered one.
    libelle: str | None = None
    # The failure, when the operation failed: its class says which kind (refused,
    # unavailable, authentication…), its ``code`` what is stored for it.
    error: ChorusError | None = None


Observer = Callable[[Exchange], None]


def cpro_account_header(login: str, password: str) -> str:
    """``cpro-account``: base64 of ``login:password`` encoded in UTF-8."""
    return base64.b64encode(f"{login}:{password}".encode()).decode("ascii")


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delay in seconds or HTTP date)."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(float(text), 0.0)
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return max((moment - datetime.now(UTC)) / timedelta(seconds=1), 0.0)


class ChorusClient:
    """A Chorus Pro API client for one set of settings. Thread-safe (the session pools)."""

    def __init__(
        self,
        *,
        oauth_url: str,
        api_url: str,
        client_id: str,
        client_secret: str,
        tech_login: str,
        tech_password: str,
        user_id: int | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        session: requests.Session | None = None,
        token_cache: TokenCache | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        observer: Observer | None = None,
    ) -> None:
        self.oauth_url = oauth_url
        self.api_url = api_url.rstrip("/")
        self.client_id = client_id
        self.user_id = user_id
        self.timeouts = (connect_timeout, read_timeout)
        self.retry = retry or RetryPolicy()
        self._client_secret = client_secret
        self._cpro_account = cpro_account_header(tech_login, tech_password)
        self.tech_login = tech_login
        self._session = session or ChorusSession()
        self._tokens = token_cache if token_cache is not None else DEFAULT_CACHE
        self._token_key = credentials_key(oauth_url, client_id, client_secret)
        self._sleep = sleep
        self._observer = observer

    def __repr__(self) -> str:
        return f"<ChorusClient api={self.api_url!r} client_id={self.client_id!r}>"

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> ChorusClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- operations -----------------------------------------------------------------------------

    def obtain_token(self, *, force: bool = False) -> TokenInfo:
        """Make sure a PISTE token is available (``force``: ask for a new one now)."""
        started = time.monotonic()
        try:
            _, info = self._token(force=force)
        except ChorusError as error:
            self._notify(TOKEN, started, error=error)
            raise
        self._notify(TOKEN, started, http_status=200)
        return info

    def health_check(self) -> HealthStatus:
        """``GET transverses/health-check``: is the API up and are we let in?"""
        return HealthStatus.from_json(self._call(HEALTH_CHECK, None))

    def upload_attachment(
        self,
        content: bytes,
        file_name: str,
        mime_type: str,
        extension: str | None = None,
    ) -> UploadedAttachment:
        """``ajouter/fichier``: store one file in Chorus Pro; returns its ``pieceJointeId``."""
        ext = extension or (file_name.rsplit(".", 1)[-1] if "." in file_name else "")
        body: dict[str, Any] = {
            "pieceJointeFichier": base64.b64encode(content).decode("ascii"),
            "pieceJointeNom": file_name,
            "pieceJointeTypeMime": mime_type,
            "pieceJointeExtension": ext.lower().lstrip("."),
        }
        if self.user_id is not None:
            body["idUtilisateurCourant"] = self.user_id
        return self._parse(ADD_FILE, UploadedAttachment.from_json, self._call(ADD_FILE, body))

    def submit_invoice(self, payload: Mapping[str, Any]) -> SubmittedInvoice:
        """``factures/soumettre``, sent exactly once.

        Never retried (no idempotency key exists): on :class:`ChorusUnavailable` with
        ``outcome_unknown`` the caller must look the number up (:meth:`find_invoices`) before
        any resend. Only a 401 is retried once after renewing the token (nothing was
        processed then).
        """
        return self._parse(SUBMIT, SubmittedInvoice.from_json, self._call(SUBMIT, payload))

    def search_supplier_invoices(
        self,
        *,
        numero_facture: str | None = None,
        id_fournisseur: int | None = None,
        statuses: Sequence[str] | None = None,
        page_size: int = 100,
    ) -> list[InvoiceSummary]:
        """``rechercher/fournisseur``, every page; an empty search gives ``[]``."""
        base: dict[str, Any] = {}
        if numero_facture is not None:
            base["numeroFacture"] = numero_facture
        if id_fournisseur is not None:
            base["idFournisseur"] = id_fournisseur
        if statuses:
            base["statutCourant"] = list(statuses)

        def body(page: int) -> dict[str, Any]:
            paging = {"pageResultatDemandee": page, "nbResultatsParPage": page_size}
            return {**base, "rechercheFactureParFournisseur": paging}

        rows = self._all_pages(SEARCH_INVOICES, body, "listeFactures")
        return [InvoiceSummary.from_json(row) for row in rows]

    def find_invoices(self, numero_facture: str, id_fournisseur: int) -> list[InvoiceSummary]:
        """Invoices this supplier already has in Chorus under exactly this number (B7)."""
        found = self.search_supplier_invoices(
            numero_facture=numero_facture, id_fournisseur=id_fournisseur
        )
        return [invoice for invoice in found if invoice.numero_facture == numero_facture]

    def get_supplier_invoice(self, identifiant_facture_cpp: int) -> InvoiceDetail:
        """``consulter/fournisseur``: the whole invoice."""
        data = self._call(GET_INVOICE, {"identifiantFactureCPP": identifiant_facture_cpp})
        return self._parse(GET_INVOICE, InvoiceDetail.from_json, data)

    def get_invoice_history(self, id_facture: int, *, max_results: int = 50) -> InvoiceHistory:
        """``consulter/historique``: current status and status history (B1)."""
        body = {"idFacture": id_facture, "nbResultatsMaximum": max_results}
        return self._parse(GET_HISTORY, InvoiceHistory.from_json, self._call(GET_HISTORY, body))

    def search_structures(
        self, identifiant: str, *, type_identifiant: str = "SIRET"
    ) -> list[StructureSummary]:
        """``structures/rechercher`` by identifier (SIRET); ``[]`` when Chorus knows none."""
        criteria = {
            "identifiantStructure": identifiant,
            "typeIdentifiantStructure": type_identifiant,
        }

        def body(page: int) -> dict[str, Any]:
            return {
                "structure": criteria,
                "restreindreStructuresPrivees": False,
                "parametres": {"pageResultatDemandee": page, "nbResultatsParPage": 100},
            }

        rows = self._all_pages(SEARCH_STRUCTURES, body, "listeStructures")
        return [StructureSummary.from_json(row) for row in rows]

    def get_structure(self, id_structure_cpp: int) -> StructureDetail:
        """``structures/consulter``: rules and general information of a structure."""
        data = self._call(GET_STRUCTURE, {"idStructureCPP": id_structure_cpp, "codeLangue": "FR"})
        return self._parse(GET_STRUCTURE, StructureDetail.from_json, data)

    def list_services(self, id_structure: int, *, page_size: int = 1000) -> list[ServiceSummary]:
        """``structures/rechercher/services``, every page."""

        def body(page: int) -> dict[str, Any]:
            return {
                "idStructure": id_structure,
                "parametresRechercherServicesStructure": {
                    "nbResultatsParPage": page_size,
                    "pageResultatDemandee": page,
                },
            }

        rows = self._all_pages(SEARCH_SERVICES, body, "listeServices")
        return [ServiceSummary.from_json(row) for row in rows]

    def get_service(self, id_structure: int, id_service: int) -> ServiceDetail:
        """``structures/consulter/service``: does this service require an engagement number?"""
        body = {"idStructure": id_structure, "idService": id_service, "codeLangue": "FR"}
        data = self._call(GET_SERVICE, body)
        return self._parse(GET_SERVICE, lambda d: ServiceDetail.from_json(d, id_service), data)

    def list_supplier_structures(self) -> list[SupplierStructure]:
        """``recuperer/structures/actives/fournisseur``: candidates for the supplier id (B4)."""
        data = self._call(SUPPLIER_STRUCTURES, {})
        return [SupplierStructure.from_json(row) for row in json_rows(data, "listeStructures")]

    def list_bank_details(self, id_structure: int) -> list[BankDetails]:
        """``recuperer/coordbanc/valides``: the supplier's valid bank coordinates (B4)."""
        data = self._call(BANK_DETAILS, {"idStructure": id_structure})
        return [BankDetails.from_json(row) for row in json_rows(data, "listeCoordonneeBancaire")]

    def list_vat_exemption_reasons(self) -> list[VatExemptionReason]:
        """``recuperer/motifs/exonerationtva``: the reasons accepted in ``motifExonerationTva``."""
        data = self._call(VAT_EXEMPTION_REASONS, {"codeLangue": "FR"})
        rows = json_rows(data, "listeMotifsExonerationTva") or json_rows(data, "listeMotifs")
        return [reason for reason in map(VatExemptionReason.from_json, rows) if reason.code]

    def list_attachment_types(self) -> list[AttachmentType]:
        """``recuperer/typespj``: the codes accepted in ``pieceJointeComplementaireType``.

        Asked for invoices (``typeObjet`` ``FACTURE``). When the answer mixes objects, only
        the rows marked ``FACTURE`` are kept; when none is, the whole answer is (Chorus
        filtered it, or names the object otherwise): never an empty list by our doing.
        """
        body = {"codeLangue": "FR", "typeObjet": INVOICE_OBJECT_TYPE}
        rows = json_rows(self._call(ATTACHMENT_TYPES, body), "listeTypePieceJointe")
        types = [kind for kind in map(AttachmentType.from_json, rows) if kind.code]
        for_invoices = [kind for kind in types if kind.object_type == INVOICE_OBJECT_TYPE]
        return for_invoices or types

    # -- transport ------------------------------------------------------------------------------

    def _all_pages(
        self, op: Operation, body: Callable[[int], dict[str, Any]], list_name: str
    ) -> list[Mapping[str, Any]]:
        rows: list[Mapping[str, Any]] = []
        page = 1
        while True:
            data = self._call(op, body(page))
            rows.extend(json_rows(data, list_name))
            paging = data.get("parametresRetour")
            if not isinstance(paging, Mapping):
                return rows
            pages = as_int(paging.get("pages")) or 1
            current = as_int(paging.get("pageCourante")) or page
            if current >= pages or page >= MAX_PAGES:
                return rows
            page = current + 1

    def _call(self, op: Operation, body: Mapping[str, Any] | None) -> dict[str, Any]:
        started = time.monotonic()
        attempt = 1
        while True:
            try:
                data, status = self._exchange(op, body)
            except ChorusUnavailable as error:
                delay = self.retry.delay(attempt, error.retry_after) if op.retryable else None
                if delay is None:
                    self._notify(op.name, started, error=error, attempts=attempt)
                    raise
                logger.warning(
                    "chorus %s unavailable (attempt %d), retrying in %.1f s: %s",
                    op.name,
                    attempt,
                    delay,
                    error,
                )
                self._sleep(delay)
                attempt += 1
            except ChorusError as error:
                self._notify(op.name, started, error=error, attempts=attempt)
                raise
            else:
                code = as_int(data.get("codeRetour"))
                self._notify(
                    op.name,
                    started,
                    http_status=status,
                    code=code,
                    attempts=attempt,
                    libelle=str(data.get("libelle") or "").strip() or None,
                )
                return data

    def _exchange(
        self, op: Operation, body: Mapping[str, Any] | None
    ) -> tuple[dict[str, Any], int]:
        token, _ = self._token()
        response = self._send(op, body, token)
        if response.status_code in (401, 403):
            # An expired or revoked token: renew once and retry this call once.
            self._tokens.invalidate(self._token_key, token)
            token, _ = self._token()
            response = self._send(op, body, token)
            if response.status_code in (401, 403):
                raise ChorusAuthenticationError(
                    _auth_message(response.status_code),
                    operation=op.name,
                    http_status=response.status_code,
                    stage="api",
                )
        return self._interpret(op, response), response.status_code

    def _send(self, op: Operation, body: Mapping[str, Any] | None, token: str) -> requests.Response:
        headers = {
            "Authorization": f"Bearer {token}",
            "cpro-account": self._cpro_account,
            "Content-Type": JSON_CONTENT_TYPE,
            "Accept": JSON_CONTENT_TYPE,
        }
        data = jsonbody.dumps(body).encode("utf-8") if body is not None else None
        started = time.monotonic()
        try:
            response = self._session.request(
                op.method,
                self.api_url + op.path,
                data=data,
                headers=headers,
                timeout=self.timeouts,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            logger.warning("chorus %s transport error: %s", op.name, type(exc).__name__)
            raise _transport_error(exc, op.name) from None
        logger.info(
            "chorus %s -> HTTP %s in %d ms",
            op.name,
            response.status_code,
            (time.monotonic() - started) * 1000,
        )
        return response

    def _interpret(self, op: Operation, response: requests.Response) -> dict[str, Any]:
        status = response.status_code
        data = _json_or_none(response)
        if status == 429 or status >= 500:
            raise ChorusUnavailable(
                f"Chorus Pro est momentanément indisponible (HTTP {status}).",
                operation=op.name,
                http_status=status,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
                # 429/503 are the gateway refusing work; other 5xx may hide a processed call.
                outcome_unknown=status not in (429, 503),
            )
        if status >= 400 or status < 200:
            fields = data if isinstance(data, dict) else {}
            # Business refusals may come as HTTP 400 with the same {codeRetour, libelle} body
            # as on HTTP 200, "no result" included: the same rules apply to both.
            if (
                status == 400
                and op.empty_result_allowed
                and as_int(fields.get("codeRetour")) == EMPTY_RESULT_CODE
            ):
                return fields
            libelle = str(fields.get("libelle") or response.reason or "").strip()
            raise ChorusRefused(
                as_int(fields.get("codeRetour")),
                libelle,
                operation=op.name,
                http_status=status,
            )
        if not isinstance(data, dict):
            if op.method == "GET":
                return {}
            raise ChorusUnavailable(
                "Chorus Pro a renvoyé une réponse illisible.",
                operation=op.name,
                http_status=status,
                outcome_unknown=True,
            )
        code = as_int(data.get("codeRetour"))
        if code not in (None, 0) and not (op.empty_result_allowed and code == EMPTY_RESULT_CODE):
            raise ChorusRefused(
                code,
                str(data.get("libelle") or "").strip(),
                operation=op.name,
                http_status=status,
            )
        return data

    def _parse(self, op: Operation, parse: Callable[[dict[str, Any]], Any], data: Any) -> Any:
        try:
            return parse(data)
        except (ValueError, TypeError) as exc:
            raise ChorusUnavailable(
                f"Réponse de Chorus Pro incomplète ({exc}).",
                operation=op.name,
                outcome_unknown=True,
            ) from None

    # -- token ------------------------------------------------------------------------------------

    def _token(self, *, force: bool = False) -> tuple[str, TokenInfo]:
        if not force:
            cached = self._tokens.get(self._token_key)
            if cached is not None:
                return cached, self._cached_info()
        with self._tokens.lock_for(self._token_key):
            cached = None if force else self._tokens.get(self._token_key)
            if cached is not None:
                return cached, self._cached_info()
            value, info = self._request_token_with_retries()
            self._tokens.put(self._token_key, value, info.expires_in)
            return value, info

    def _cached_info(self) -> TokenInfo:
        return TokenInfo("Bearer", self._tokens.remaining_seconds(self._token_key))

    def _request_token_with_retries(self) -> tuple[str, TokenInfo]:
        attempt = 1
        while True:
            try:
                return self._request_token()
            except ChorusUnavailable as error:
                delay = self.retry.delay(attempt, error.retry_after)
                if delay is None:
                    raise
                self._sleep(delay)
                attempt += 1

    def _request_token(self) -> tuple[str, TokenInfo]:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._client_secret,
            "scope": "openid",
        }
        try:
            response = self._session.post(
                self.oauth_url,
                data=form,
                headers={"Accept": "application/json"},
                timeout=self.timeouts,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise _transport_error(exc, TOKEN, token=True) from None
        status = response.status_code
        data = _json_or_none(response)
        if status == 429 or status >= 500:
            raise ChorusUnavailable(
                f"Le serveur d'authentification PISTE est indisponible (HTTP {status}).",
                operation=TOKEN,
                http_status=status,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
        fields = data if isinstance(data, dict) else {}
        if status != 200:
            reason = str(fields.get("error") or f"HTTP {status}")
            raise ChorusAuthenticationError(
                "Le serveur d'authentification PISTE a refusé le client ID ou le secret "
                f"({reason}) : vérifiez les paramètres de connexion.",
                operation=TOKEN,
                http_status=status,
                stage="token",
            )
        value = fields.get("access_token")
        if not isinstance(value, str) or not value:
            raise ChorusUnavailable(
                "Le serveur d'authentification PISTE a renvoyé une réponse illisible.",
                operation=TOKEN,
                http_status=status,
            )
        expires_in = as_int(fields.get("expires_in")) or 3600
        return value, TokenInfo(str(fields.get("token_type") or "Bearer"), expires_in)

    # -- observation ------------------------------------------------------------------------------

    def _notify(
        self,
        operation: str,
        started: float,
        *,
        http_status: int | None = None,
        code: int | None = None,
        error: ChorusError | None = None,
        attempts: int = 1,
        libelle: str | None = None,
    ) -> None:
        if self._observer is None:
            return
        if error is not None:
            http_status = getattr(error, "http_status", None)
            code = getattr(error, "code_retour", None)
            libelle = getattr(error, "libelle", None) or None
        exchange = Exchange(
            operation=operation,
            ok=error is None,
            http_status=http_status,
            code_retour=code,
            attempts=attempts,
            duration_ms=int((time.monotonic() - started) * 1000),
            message=str(error) if error is not None else None,
            libelle=libelle,
            error=error,
        )
        try:
            self._observer(exchange)
        except Exception:  # an observer must never break a Chorus call
            logger.exception("chorus observer failed")


# -- helpers --------------------------------------------------------------------------------------


def _json_or_none(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return json.loads(response.content.decode("utf-8"), parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        return None


def _auth_message(status: int) -> str:
    if status == 403:
        return (
            "Chorus Pro refuse l'accès (HTTP 403) : l'application PISTE n'est pas abonnée à "
            "l'API Chorus Pro ou le compte technique n'a pas de droit sur cette structure."
        )
    return (
        "Chorus Pro refuse l'authentification (HTTP 401) : vérifiez le login et le mot de "
        "passe du compte technique (il expire tous les 424 jours) et les identifiants PISTE."
    )


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the connection was never established (so the request was not sent)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, NewConnectionError | ConnectTimeoutError | ConnectionRefusedError):
            return True
        pending.extend(arg for arg in current.args if isinstance(arg, BaseException))
        pending.append(getattr(current, "reason", None))
        pending.append(current.__cause__)
        pending.append(current.__context__)
    return False


def _transport_error(
    exc: requests.RequestException, operation: str, *, token: bool = False
) -> ChorusUnavailable:
    target = "Le serveur d'authentification PISTE" if token else "Chorus Pro"
    never_sent = _never_sent(exc)
    if isinstance(exc, requests.Timeout) and not never_sent:
        reason = "délai de réponse dépassé"
    elif never_sent:
        reason = "connexion impossible"
    else:
        reason = "connexion interrompue"
    return ChorusUnavailable(
        f"{target} est injoignable ({reason}).",
        operation=operation,
        outcome_unknown=not never_sent,
    )
