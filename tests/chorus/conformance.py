"""A strict conformance proxy between the portal and the emulator (test helper).

:class:`ConformanceProxy` is a WSGI middleware wrapped around the emulator's app
(``run_in_thread(..., middleware=ConformanceProxy)``): it records every API request the portal
makes, passes it on unchanged, and afterwards :meth:`ConformanceProxy.violations` lists every
coded field whose value is not in Chorus's lists:

- enumerated fields of the official Swagger request models (``typeFacture``, ``typeTva``,
  ``modeDepot``, ``cadreDeFacturation.codeCadreFacturation``, ``modePaiement``…), read from
  ``../shared/chorus-pro/swagger/`` when present, else from :data:`FALLBACK_ENUMS`;
- ``deviseFacture`` and ``codeLangue`` (no enum in the Swagger): :data:`BUILT_IN_ENUMS`;
- ``statutCourant`` of an invoice search: the official status list;
- ``references.motifExonerationTva``: a code of the served
  ``transverses/v1/recuperer/motifs/exonerationtva`` list;
- ``pieceJointeComplementaire[].pieceJointeComplementaireType``: a code of the served
  ``transverses/v1/recuperer/typespj`` list.

The served lists are read from the emulator itself, through the same app, as a client would.
"""

from __future__ import annotations

import base64
import io
import json
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from werkzeug.test import Client

from portal.chorus import statuses
from tests.chorus.emulator_fixtures import CLIENT_ID, CLIENT_SECRET, TECH_LOGIN, TECH_PASSWORD
from tests.conftest import SHARED_DIR

SWAGGER_DIR = SHARED_DIR / "chorus-pro" / "swagger"
SWAGGER_FILES = ("factures.json", "structures.json")

SUBMIT_PATH = "/cpro/factures/v1/soumettre"
SEARCH_INVOICES_PATH = "/cpro/factures/v1/rechercher/fournisseur"
VAT_REASONS_PATH = "/cpro/transverses/v1/recuperer/motifs/exonerationtva"
ATTACHMENT_TYPES_PATH = "/cpro/transverses/v1/recuperer/typespj"
VAT_REASON_FIELD = "references.motifExonerationTva"
ATTACHMENT_TYPE_FIELD = "pieceJointeComplementaire.pieceJointeComplementaireType"

# The Swagger enums of the fields the portal sends, for a checkout without ../shared/.
FALLBACK_ENUMS: dict[str, dict[str, tuple[str, ...]]] = {
    SUBMIT_PATH: {
        "modeDepot": ("SAISIE_API", "DEPOT_PDF_API", "DEPOT_PDF_SIGNE_API"),
        "cadreDeFacturation.codeCadreFacturation": (
            "A1_FACTURE_FOURNISSEUR",
            "A2_FACTURE_FOURNISSEUR_DEJA_PAYEE",
            "A9_FACTURE_SOUSTRAITANT",
            "A12_FACTURE_COTRAITANT",
        ),
        "references.typeFacture": ("AVOIR", "FACTURE"),
        "references.typeTva": ("TVA_SUR_DEBIT", "TVA_SUR_ENCAISSEMENT", "EXONERATION", "SANS_TVA"),
        "references.modePaiement": (
            "CHEQUE",
            "PRELEVEMENT",
            "VIREMENT",
            "ESPECE",
            "AUTRE",
            "REPORT",
        ),
    },
    "/cpro/structures/v1/rechercher": {
        "structure.typeIdentifiantStructure": (
            "SIRET",
            "UE_HORS_FRANCE",
            "HORS_UE",
            "RIDET",
            "TAHITI",
            "AUTRE",
            "PARTICULIER",
        ),
        "structure.statutStructure": ("ACTIF", "INACTIF"),
        "structure.typeStructure": ("PRIVEE", "PUBLIQUE"),
    },
}
# Coded fields without an enum in the Swagger: the only values the portal may send.
BUILT_IN_ENUMS: dict[str, tuple[str, ...]] = {
    "references.deviseFacture": ("EUR",),
    "codeLangue": ("FR", "EN"),
}


@dataclass(frozen=True)
class Recorded:
    """One API request as the portal sent it."""

    method: str
    path: str
    body: Any


@dataclass(frozen=True)
class Violation:
    path: str
    field: str
    value: Any
    allowed: tuple[str, ...]

    def __str__(self) -> str:
        shown = ", ".join(self.allowed[:12]) + ("…" if len(self.allowed) > 12 else "")
        return f"{self.path} {self.field} = {self.value!r} ∉ {{{shown}}}"


def swagger_enums() -> dict[str, dict[str, tuple[str, ...]]] | None:
    """``{api path: {dotted field: enum}}`` from the official Swagger files, or None if absent."""
    if not all((SWAGGER_DIR / name).exists() for name in SWAGGER_FILES):
        return None
    enums: dict[str, dict[str, tuple[str, ...]]] = {}
    for name in SWAGGER_FILES:
        spec = json.loads((SWAGGER_DIR / name).read_text(encoding="utf-8"))
        definitions = spec["definitions"]
        for path, methods in spec["paths"].items():
            for operation in methods.values():
                for parameter in operation.get("parameters", []):
                    ref = parameter.get("schema", {}).get("$ref")
                    if parameter.get("in") == "body" and ref:
                        fields = dict(_model_enums(definitions, ref.rsplit("/", 1)[-1], ""))
                        enums[spec["basePath"] + path] = fields
    return enums


def _model_enums(
    definitions: Mapping[str, Any], model: str, prefix: str, seen: frozenset[str] = frozenset()
) -> Iterator[tuple[str, tuple[str, ...]]]:
    for name, spec in definitions[model].get("properties", {}).items():
        item = spec.get("items", {}) if spec.get("type") == "array" else spec
        if "enum" in item:
            yield prefix + name, tuple(item["enum"])
        ref = item.get("$ref")
        if ref:
            child = ref.rsplit("/", 1)[-1]
            if child not in seen:
                yield from _model_enums(definitions, child, f"{prefix}{name}.", seen | {model})


def leaves(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every scalar of a JSON body with its dotted path (list positions dropped)."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from leaves(item, f"{prefix}{key}.")
    elif isinstance(value, list):
        for item in value:
            yield from leaves(item, prefix)
    else:
        yield prefix.rstrip("."), value


class ConformanceProxy:
    """WSGI middleware recording the portal's API requests on their way to the emulator."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._recorded: list[Recorded] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/cpro/"):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            raw = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(raw)
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw
            with self._lock:
                self._recorded.append(Recorded(environ["REQUEST_METHOD"], path, body))
        return self.app(environ, start_response)

    # -- what was sent ----------------------------------------------------------------------------

    @property
    def recorded(self) -> list[Recorded]:
        with self._lock:
            return list(self._recorded)

    def bodies(self, path: str) -> list[Any]:
        return [r.body for r in self.recorded if r.path == path]

    def values(self, path: str, field: str) -> list[Any]:
        """Every value the portal sent in ``field`` (dotted, list positions dropped)."""
        return [v for body in self.bodies(path) for f, v in leaves(body) if f == field]

    # -- Chorus's lists ---------------------------------------------------------------------------

    def served_codes(
        self, path: str, body: Mapping[str, Any], list_name: str, code: str
    ) -> tuple[str, ...]:
        """The codes the emulator serves at ``path`` (asked as a client would, no recording)."""
        http = Client(self.app)
        token = http.post(
            "/api/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "scope": "openid",
            },
        ).get_json()["access_token"]
        account = base64.b64encode(f"{TECH_LOGIN}:{TECH_PASSWORD}".encode()).decode()
        answer = http.post(
            path,
            json=dict(body),
            headers={"Authorization": f"Bearer {token}", "cpro-account": account},
        )
        data = answer.get_json(silent=True) or {}
        rows = data.get(list_name)
        assert answer.status_code == 200 and isinstance(rows, list), (
            f"the emulator serves no {path} list (HTTP {answer.status_code}: {data})"
        )
        return tuple(str(row.get(code)) for row in rows if isinstance(row, Mapping))

    def vat_reason_codes(self) -> tuple[str, ...]:
        return self.served_codes(
            VAT_REASONS_PATH,
            {"codeLangue": "FR"},
            "listeMotifsExonerationTva",
            "codeMotifExonerationTva",
        )

    def attachment_type_codes(self) -> tuple[str, ...]:
        # The request public clients send (go-choruspro transverses_pieces_jointes.go).
        return self.served_codes(
            ATTACHMENT_TYPES_PATH,
            {"codeLangue": "FR", "typeObjet": "FACTURE"},
            "listeTypePieceJointe",
            "codeTypePieceJointe",
        )

    # -- the verdict ------------------------------------------------------------------------------

    def enum_violations(self) -> list[Violation]:
        """Coded fields outside the Swagger enums and the built-in lists."""
        enums = swagger_enums() or FALLBACK_ENUMS
        found = []
        for request in self.recorded:
            allowed_here = {**enums.get(request.path, {}), **BUILT_IN_ENUMS}
            if request.path == SEARCH_INVOICES_PATH:
                allowed_here["statutCourant"] = statuses.OFFICIAL_CODES
            for field, value in leaves(request.body):
                allowed = allowed_here.get(field)
                if allowed is not None and value not in allowed:
                    found.append(Violation(request.path, field, value, allowed))
        return found

    def served_list_violations(self, field: str) -> list[Violation]:
        """``field`` of ``soumettre`` outside the list the emulator serves for it."""
        values = self.values(SUBMIT_PATH, field)
        if not values:
            return []
        if field == VAT_REASON_FIELD:
            allowed = self.vat_reason_codes()
        elif field == ATTACHMENT_TYPE_FIELD:
            allowed = self.attachment_type_codes()
        else:
            raise ValueError(field)
        return [Violation(SUBMIT_PATH, field, v, allowed) for v in values if v not in allowed]


def describe(violations: Iterable[Violation]) -> str:
    """One line per violation, for assertion messages."""
    return "\n".join(str(v) for v in violations) or "none"
