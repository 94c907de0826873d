"""The emulator's WSGI application (plain Werkzeug: small per-call overhead).

Same paths, methods, headers and JSON names as the real API, plus the OAuth token endpoint
and the control endpoints under ``/_emulator/`` (a path no real API uses).
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from werkzeug.datastructures import Headers
from werkzeug.wrappers import Request, Response

from portal.chorus import jsonbody
from portal.chorus.emulator import models, operations
from portal.chorus.emulator.codes import SUCCESS_LIBELLE, Code, libelle
from portal.chorus.emulator.faults import Fault, FaultConfigError
from portal.chorus.emulator.models import Model, RequestInvalid
from portal.chorus.emulator.operations import Context, Refusal
from portal.chorus.emulator.state import REFUSAL_HTTP_STATUSES, EmulatorState

JSON_TYPE = "application/json;charset=utf-8"
MAX_BODY_BYTES = 200 * 1024 * 1024
TOKEN_PATH = "/api/oauth/token"  # noqa: S105  (a URL path, not a secret)


class DropConnection(ConnectionResetError):
    """Raised by the app to make the server drop the connection (see ``server.py``)."""


@dataclass(frozen=True)
class Route:
    operation: str
    method: str
    model: Model | None
    handler: Callable[[Context, Any], dict[str, Any]]


ROUTES: dict[str, Route] = {
    "/cpro/transverses/v1/health-check": Route(
        "transverses/health-check", "GET", None, operations.health_check
    ),
    "/cpro/transverses/v1/ajouter/fichier": Route(
        "transverses/ajouter/fichier", "POST", models.AjouterFichierParam, operations.add_file
    ),
    "/cpro/transverses/v1/recuperer/structures/actives/fournisseur": Route(
        "transverses/recuperer/structures/actives/fournisseur",
        "POST",
        models.RecupererStructuresActivesFournisseurParam,
        operations.supplier_structures,
    ),
    "/cpro/transverses/v1/recuperer/coordbanc/valides": Route(
        "transverses/recuperer/coordbanc/valides",
        "POST",
        models.RecupererCoordonneesBancairesValidesParam,
        operations.bank_details,
    ),
    "/cpro/transverses/v1/recuperer/motifs/exonerationtva": Route(
        "transverses/recuperer/motifs/exonerationtva",
        "POST",
        models.RecupererMotifsExonerationTvaParam,
        operations.vat_exemption_reasons,
    ),
    "/cpro/transverses/v1/recuperer/typespj": Route(
        "transverses/recuperer/typespj",
        "POST",
        models.RecupererTypesPieceJointeParam,
        operations.attachment_types,
    ),
    "/cpro/factures/v1/soumettre": Route(
        "factures/soumettre", "POST", models.SoumettreFactureParam, operations.submit
    ),
    "/cpro/factures/v1/rechercher/fournisseur": Route(
        "factures/rechercher/fournisseur",
        "POST",
        models.RechercherFactureParFournisseurParam,
        operations.search_invoices,
    ),
    "/cpro/factures/v1/consulter/fournisseur": Route(
        "factures/consulter/fournisseur",
        "POST",
        models.ConsulterFactureParFournisseurParam,
        operations.get_invoice,
    ),
    "/cpro/factures/v1/consulter/historique": Route(
        "factures/consulter/historique",
        "POST",
        models.ConsulterHistoriqueFactureParam,
        operations.history,
    ),
    "/cpro/structures/v1/rechercher": Route(
        "structures/rechercher",
        "POST",
        models.RechercherStructureParam,
        operations.search_structures,
    ),
    "/cpro/structures/v1/consulter": Route(
        "structures/consulter",
        "POST",
        models.ConsulterStructureAvecTVAIntraComParam,
        operations.get_structure,
    ),
    "/cpro/structures/v1/rechercher/services": Route(
        "structures/rechercher/services",
        "POST",
        models.RechercherServicesStructureParam,
        operations.search_services,
    ),
    "/cpro/structures/v1/consulter/service": Route(
        "structures/consulter/service",
        "POST",
        models.ConsulterServiceStructureParam,
        operations.get_service,
    ),
}


def envelope(code: int, message: str, **fields: Any) -> dict[str, Any]:
    return {"codeRetour": code, "libelle": message, **fields}


def json_response(
    status: int, payload: Mapping[str, Any], headers: Mapping[str, str] | None = None
) -> Response:
    body = jsonbody.dumps(payload).encode("utf-8")
    return Response(body, status=status, headers=Headers(headers or {}), content_type=JSON_TYPE)


class EmulatorApp:
    """WSGI callable serving the emulated API for one :class:`EmulatorState`."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self._control: dict[tuple[str, str], Callable[[Request], Response]] = {
            ("GET", "/"): self._index,
            ("GET", "/_emulator/stats"): self._stats,
            ("GET", "/_emulator/faults"): self._get_faults,
            ("POST", "/_emulator/faults"): self._set_faults,
            ("POST", "/_emulator/tokens/expire"): self._expire_tokens,
            ("GET", "/_emulator/clock"): self._get_clock,
            ("POST", "/_emulator/clock"): self._set_clock,
            ("POST", "/_emulator/clock/advance"): self._advance_clock,
            ("POST", "/_emulator/config"): self._set_config,
            ("POST", "/_emulator/reset"): self._reset,
            ("GET", "/_emulator/invoices"): self._list_invoices,
        }

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        request.max_content_length = MAX_BODY_BYTES
        response = self.dispatch(request)
        return response(environ, start_response)

    # -- dispatch -------------------------------------------------------------------------------

    def dispatch(self, request: Request) -> Response:
        path = request.path
        control = self._control.get((request.method, path))
        if control is not None:
            return control(request)
        if path == TOKEN_PATH:
            return self._api_call("token", request, self._token, method="POST")
        route = ROUTES.get(path)
        if route is None:
            if any(key[1] == path for key in self._control):
                return self._error(405, "Méthode non autorisée pour cette adresse.")
            return self._error(404, f"API non trouvée : {path}")
        return self._api_call(
            route.operation, request, lambda r: self._business(route, r), method=route.method
        )

    def _api_call(
        self,
        operation: str,
        request: Request,
        handle: Callable[[Request], Response],
        *,
        method: str,
    ) -> Response:
        state = self.state
        with state.lock:
            state.stats.calls[operation] += 1
        if request.method != method:
            return self._count(operation, self._error(405, "Méthode non autorisée."))
        latency = state.faults.latency_seconds
        if latency:
            time.sleep(latency)
        fault = state.faults.decide(operation)
        if fault is not None:
            with state.lock:
                state.stats.faults[f"{operation}:{fault.kind}"] += 1
            if not fault.processes_call:
                return self._count(operation, self._inflict(fault))
        response = handle(request)
        if fault is not None and fault.kind == "malformed":
            broken = Response(b'{"codeRetour": 0, "libelle": "GCU_MSG', content_type=JSON_TYPE)
            return self._count(operation, broken)
        if fault is not None and fault.kind == "late":
            self._wait(fault.seconds)
        return self._count(operation, response)

    def _count(self, operation: str, response: Response) -> Response:
        with self.state.lock:
            self.state.stats.statuses[f"{operation}:{response.status_code}"] += 1
        return response

    def _inflict(self, fault: Fault) -> Response:
        if fault.kind == "throttle":
            return self._error(
                429, "Trop de requêtes : réessayez plus tard.", retry_after=fault.retry_after
            )
        if fault.kind == "error":
            retry_after = fault.retry_after if fault.status == 503 else None
            message = (
                "Service momentanément indisponible."
                if fault.status == 503
                else "Erreur interne du serveur."
            )
            return self._error(fault.status, message, retry_after=retry_after)
        if fault.kind == "timeout":
            self._wait(fault.seconds)
        raise DropConnection(fault.kind)

    def _wait(self, seconds: float) -> None:
        self.state.wake.wait(seconds)

    def _error(self, status: int, message: str, *, retry_after: int | None = None) -> Response:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
        return json_response(status, envelope(status, message), headers)

    # -- API ------------------------------------------------------------------------------------

    def _business(self, route: Route, request: Request) -> Response:
        login = self._authenticate(request)
        if isinstance(login, Response):
            return login
        body: Any = None
        if route.method == "POST":
            parsed = self._json_body(request)
            if isinstance(parsed, Response):
                return parsed
            body = parsed
            if route.model is not None:
                try:
                    route.model.validate(body)
                except RequestInvalid as error:
                    return json_response(
                        400,
                        envelope(
                            Code.INVALID_REQUEST, f"{libelle(Code.INVALID_REQUEST)} {error.message}"
                        ),
                    )
        try:
            answer = route.handler(Context(self.state, login), body)
        except Refusal as refusal:
            status = self.state.refusal_http_status
            return json_response(status, envelope(refusal.code, refusal.libelle))
        answer.setdefault("libelle", SUCCESS_LIBELLE)
        return json_response(200, {"codeRetour": 0, **answer})

    def _authenticate(self, request: Request) -> str | Response:
        authorization = request.headers.get("Authorization", "")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not self.state.token_valid(token.strip()):
            return self._error(401, "Jeton d'accès absent, invalide ou expiré.")
        account = request.headers.get("cpro-account", "")
        try:
            decoded = base64.b64decode(account, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            decoded = ""
        login, separator, password = decoded.partition(":")
        if not separator or not self.state.account_valid(login, password):
            return self._error(401, "Compte technique absent ou invalide (en-tête cpro-account).")
        return login

    def _json_body(self, request: Request) -> Any:
        if request.mimetype != "application/json":
            return self._error(415, "Format de la requête non supporté : JSON attendu.")
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return self._error(413, "Requête trop volumineuse.")
        try:
            return json.loads(request.get_data(), parse_float=Decimal)
        except (ValueError, UnicodeDecodeError):
            return json_response(
                400, envelope(Code.INVALID_REQUEST, "Requête mal formulée : JSON invalide.")
            )

    def _token(self, request: Request) -> Response:
        if request.mimetype != "application/x-www-form-urlencoded":
            return json_response(
                400,
                {"error": "invalid_request", "error_description": "Formulaire attendu."},
            )
        form = request.form
        if form.get("grant_type") != "client_credentials":
            return json_response(
                400,
                {
                    "error": "unsupported_grant_type",
                    "error_description": "grant_type doit valoir client_credentials.",
                },
            )
        client_id = form.get("client_id") or (
            request.authorization.username if request.authorization else ""
        )
        client_secret = form.get("client_secret") or (
            request.authorization.password if request.authorization else ""
        )
        if not self.state.client_valid(client_id or "", client_secret or ""):
            return json_response(
                401,
                {"error": "invalid_client", "error_description": "Client inconnu ou secret faux."},
            )
        token, lifetime = self.state.issue_token()
        return json_response(
            200,
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": lifetime,
                "scope": "openid",
            },
        )

    # -- control --------------------------------------------------------------------------------

    def _control_body(self, request: Request) -> dict[str, Any] | Response:
        raw = request.get_data()
        if not raw.strip():
            return {}
        try:
            data = json.loads(raw)
        except ValueError:
            return self._error(400, "JSON invalide.")
        if not isinstance(data, dict):
            return self._error(400, "Un objet JSON est attendu.")
        return data

    def _index(self, _request: Request) -> Response:
        lines = [
            "Émulateur Chorus Pro — API sous /cpro/…, jeton sous /api/oauth/token.",
            "Statistiques : GET /_emulator/stats ; pannes : GET/POST /_emulator/faults ;",
            "horloge : GET/POST /_emulator/clock, POST /_emulator/clock/advance ;",
            "POST /_emulator/reset, POST /_emulator/tokens/expire, GET /_emulator/invoices.",
        ]
        return Response("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")

    def _stats(self, _request: Request) -> Response:
        return json_response(200, self.state.stats_snapshot())

    def _get_faults(self, _request: Request) -> Response:
        return json_response(200, self.state.faults.settings.describe())

    def _set_faults(self, request: Request) -> Response:
        data = self._control_body(request)
        if isinstance(data, Response):
            return data
        try:
            settings = self.state.faults.update(data)
        except FaultConfigError as error:
            return self._error(400, str(error))
        if data.get("expire_tokens"):
            self.state.expire_tokens()
        return json_response(200, settings.describe())

    def _expire_tokens(self, _request: Request) -> Response:
        return json_response(200, {"expired": self.state.expire_tokens()})

    def _clock_json(self) -> dict[str, Any]:
        return {"now": self.state.clock.now().isoformat(), "speed": self.state.clock.speed}

    def _get_clock(self, _request: Request) -> Response:
        return json_response(200, self._clock_json())

    def _set_clock(self, request: Request) -> Response:
        data = self._control_body(request)
        if isinstance(data, Response):
            return data
        speed = data.get("speed")
        if isinstance(speed, bool) or not isinstance(speed, int | float) or speed < 0:
            return self._error(400, "speed : nombre positif ou nul attendu.")
        self.state.clock.set_speed(float(speed))
        return json_response(200, self._clock_json())

    def _advance_clock(self, request: Request) -> Response:
        data = self._control_body(request)
        if isinstance(data, Response):
            return data
        units = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
        seconds = 0.0
        for key, value in data.items():
            if key not in units or isinstance(value, bool) or not isinstance(value, int | float):
                return self._error(400, "Attendu : seconds, minutes, hours ou days (nombres).")
            seconds += value * units[key]
        self.state.clock.advance(seconds)
        return json_response(200, self._clock_json())

    def _set_config(self, request: Request) -> Response:
        data = self._control_body(request)
        if isinstance(data, Response):
            return data
        for key, value in data.items():
            if key == "token_lifetime" and isinstance(value, int) and value > 0:
                self.state.token_lifetime = value
            elif key == "speed" and isinstance(value, int | float) and value >= 0:
                self.state.clock.set_speed(float(value))
            elif key == "refusal_http_status" and (
                type(value) is int and value in REFUSAL_HTTP_STATUSES
            ):
                self.state.refusal_http_status = value
            else:
                return self._error(400, f"Réglage inconnu ou invalide : « {key} ».")
        return json_response(
            200,
            {
                "token_lifetime": self.state.token_lifetime,
                "speed": self.state.clock.speed,
                "refusal_http_status": self.state.refusal_http_status,
            },
        )

    def _reset(self, request: Request) -> Response:
        data = self._control_body(request)
        if isinstance(data, Response):
            return data
        self.state.reset(tokens=bool(data.get("tokens")))
        return json_response(200, {"reset": True})

    def _list_invoices(self, _request: Request) -> Response:
        state = self.state
        now = state.clock.now()
        with state.lock:
            invoices = list(state.invoices.values())
        rows = [
            {
                "identifiantFactureCPP": invoice.id,
                "numeroFacture": invoice.numero,
                "idFournisseur": invoice.supplier.id_structure_cpp,
                "codeDestinataire": invoice.recipient.siret,
                "statut": invoice.status(now)[0],
                "dateDepot": invoice.deposited_at.isoformat(),
            }
            for invoice in invoices
        ]
        return json_response(200, {"invoices": rows})
