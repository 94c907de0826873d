"""The emulator's directory: public structures, supplier structures, accepted PISTE clients.

Format (JSON) documented in ``README.md`` next to this file; ``default_directory.json`` is
the built-in one and the single source of the demo data's public clients.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

DEFAULT_DIRECTORY_PATH = Path(__file__).with_name("default_directory.json")

SCENARIOS = ("paid", "mandated_only", "rejected", "suspended", "recycle")
PUBLIC_SERVICE_CODE = "FACTURES_PUBLIQUES"


class DirectoryError(ValueError):
    """The directory file is not valid (French message naming the culprit)."""


@dataclass(frozen=True)
class Service:
    id_service: int
    code: str
    label: str
    is_active: bool = True
    engagement_required: bool = False


@dataclass(frozen=True)
class PublicStructure:
    id_structure_cpp: int
    siret: str
    designation: str
    is_active: bool = True
    service_code_required: bool = False
    engagement_required: bool = False
    engagement_or_service_required: bool = False
    payment_status_not_reported: bool = False
    scenario: str = "paid"
    comment: str | None = None
    services: tuple[Service, ...] = ()

    def service_by_code(self, code: str) -> Service | None:
        return next((s for s in self.services if s.code == code), None)

    def service_by_id(self, id_service: int) -> Service | None:
        return next((s for s in self.services if s.id_service == id_service), None)


@dataclass(frozen=True)
class BankCoordinates:
    id_coordonnee_bancaire: int
    name: str
    iban: str = ""
    bic: str = ""


@dataclass(frozen=True)
class Supplier:
    id_structure_cpp: int
    siret: str
    designation: str
    login: str
    password: str = field(repr=False)
    password_expires_on: str | None = None
    services: tuple[Service, ...] = ()
    bank_coordinates: tuple[BankCoordinates, ...] = ()

    def service_by_id(self, id_service: int) -> Service | None:
        return next((s for s in self.services if s.id_service == id_service), None)


@dataclass(frozen=True)
class OAuthClient:
    client_id: str
    client_secret: str = field(repr=False)


class Directory:
    """Indexed, read-only view of a directory file."""

    def __init__(
        self,
        public_structures: Iterable[PublicStructure],
        suppliers: Iterable[Supplier],
        oauth_clients: Iterable[OAuthClient],
    ) -> None:
        self.public_structures = tuple(public_structures)
        self.suppliers = tuple(suppliers)
        self.oauth_clients = tuple(oauth_clients)
        self._public_by_id = {s.id_structure_cpp: s for s in self.public_structures}
        self._public_by_siret = {s.siret: s for s in self.public_structures}
        self._supplier_by_id = {s.id_structure_cpp: s for s in self.suppliers}
        self._supplier_by_siret = {s.siret: s for s in self.suppliers}
        ids = [s.id_structure_cpp for s in self.public_structures]
        ids += [s.id_structure_cpp for s in self.suppliers]
        if len(ids) != len(set(ids)):
            raise DirectoryError("Deux structures de l'annuaire ont le même idStructureCPP.")

    def public_by_id(self, identifier: int) -> PublicStructure | None:
        return self._public_by_id.get(identifier)

    def public_by_siret(self, siret: str) -> PublicStructure | None:
        return self._public_by_siret.get(siret)

    def supplier_by_id(self, identifier: int) -> Supplier | None:
        return self._supplier_by_id.get(identifier)

    def supplier_by_siret(self, siret: str) -> Supplier | None:
        return self._supplier_by_siret.get(siret)

    def suppliers_of(self, login: str) -> list[Supplier]:
        """Supplier structures the technical account ``login`` may act for."""
        return [s for s in self.suppliers if s.login == login]

    def account_password(self, login: str) -> str | None:
        return next((s.password for s in self.suppliers if s.login == login), None)

    def client_secret(self, client_id: str) -> str | None:
        return next((c.client_secret for c in self.oauth_clients if c.client_id == client_id), None)

    def with_credentials(
        self,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        login: str | None = None,
        password: str | None = None,
    ) -> Directory:
        """A copy accepting other credentials (the command-line options).

        ``client_id``/``client_secret`` replace the accepted PISTE clients; ``login`` and
        ``password`` become the technical account of every supplier structure.
        """
        clients = self.oauth_clients
        if client_id is not None or client_secret is not None:
            first = clients[0] if clients else OAuthClient("demo-client", "demo-secret")
            clients = (
                OAuthClient(client_id or first.client_id, client_secret or first.client_secret),
            )
        suppliers = tuple(
            replace(s, login=login or s.login, password=password or s.password)
            for s in self.suppliers
        )
        return Directory(self.public_structures, suppliers, clients)


def load_directory(path: Path | str | None = None) -> Directory:
    """Read and check a directory file (the built-in one by default)."""
    source = Path(path) if path is not None else DEFAULT_DIRECTORY_PATH
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DirectoryError(f"Annuaire illisible ({source}) : {exc.strerror}.") from None
    except ValueError as exc:
        raise DirectoryError(f"Annuaire {source} : JSON invalide ({exc}).") from None
    return parse_directory(data)


def parse_directory(data: Any) -> Directory:
    if not isinstance(data, Mapping):
        raise DirectoryError("L'annuaire doit être un objet JSON.")
    public = [
        _public(item, f"public_structures[{i}]")
        for i, item in enumerate(_list(data, "public_structures"))
    ]
    suppliers = [
        _supplier(item, f"suppliers[{i}]") for i, item in enumerate(_list(data, "suppliers"))
    ]
    clients = [
        OAuthClient(_req_str(item, "client_id", where), _req_str(item, "client_secret", where))
        for i, item in enumerate(_list(data, "oauth_clients"))
        for where in (f"oauth_clients[{i}]",)
    ]
    return Directory(public, suppliers, clients)


def _list(data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        raise DirectoryError(f"« {key} » doit être une liste d'objets.")
    return value


def _req(item: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in item:
        raise DirectoryError(f"{where} : champ « {key} » manquant.")
    return item[key]


def _req_str(item: Mapping[str, Any], key: str, where: str) -> str:
    value = _req(item, key, where)
    if not isinstance(value, str) or not value:
        raise DirectoryError(f"{where}.{key} doit être une chaîne non vide.")
    return value


def _req_int(item: Mapping[str, Any], key: str, where: str) -> int:
    value = _req(item, key, where)
    if not isinstance(value, int) or isinstance(value, bool):
        raise DirectoryError(f"{where}.{key} doit être un entier.")
    return value


def _flag(item: Mapping[str, Any], key: str, where: str, default: bool = False) -> bool:
    value = item.get(key, default)
    if not isinstance(value, bool):
        raise DirectoryError(f"{where}.{key} doit valoir true ou false.")
    return value


def _services(item: Mapping[str, Any], where: str) -> tuple[Service, ...]:
    services = []
    raw = item.get("services", [])
    if not isinstance(raw, list):
        raise DirectoryError(f"{where}.services doit être une liste.")
    for i, entry in enumerate(raw):
        at = f"{where}.services[{i}]"
        if not isinstance(entry, Mapping):
            raise DirectoryError(f"{at} doit être un objet.")
        services.append(
            Service(
                id_service=_req_int(entry, "idService", at),
                code=_req_str(entry, "codeService", at),
                label=str(entry.get("libelleService") or entry["codeService"]),
                is_active=_flag(entry, "estActif", at, True),
                engagement_required=_flag(entry, "numeroEngagementRequis", at),
            )
        )
    return tuple(services)


def _public(item: Mapping[str, Any], where: str) -> PublicStructure:
    scenario = item.get("scenario", "paid")
    if scenario not in SCENARIOS:
        raise DirectoryError(f"{where}.scenario doit valoir l'une de : {', '.join(SCENARIOS)}.")
    statut = item.get("statut", "ACTIVE")
    if statut not in ("ACTIVE", "INACTIVE"):
        raise DirectoryError(f"{where}.statut doit valoir ACTIVE ou INACTIVE.")
    comment = item.get("commentaire")
    return PublicStructure(
        id_structure_cpp=_req_int(item, "idStructureCPP", where),
        siret=_req_str(item, "siret", where),
        designation=_req_str(item, "designation", where),
        is_active=statut == "ACTIVE",
        service_code_required=_flag(item, "codeServiceDoitEtreRenseigne", where),
        engagement_required=_flag(item, "numeroEJDoitEtreRenseigne", where),
        engagement_or_service_required=_flag(item, "gestionNumeroEJOuCodeService", where),
        payment_status_not_reported=_flag(item, "statutMiseEnPaiementNestPasRemonte", where),
        scenario=scenario,
        comment=str(comment) if comment else None,
        services=_services(item, where),
    )


def _supplier(item: Mapping[str, Any], where: str) -> Supplier:
    coordinates = []
    raw = item.get("coordonneesBancaires", [])
    if not isinstance(raw, list):
        raise DirectoryError(f"{where}.coordonneesBancaires doit être une liste.")
    for i, entry in enumerate(raw):
        at = f"{where}.coordonneesBancaires[{i}]"
        if not isinstance(entry, Mapping):
            raise DirectoryError(f"{at} doit être un objet.")
        coordinates.append(
            BankCoordinates(
                id_coordonnee_bancaire=_req_int(entry, "idCoordonneeBancaire", at),
                name=_req_str(entry, "nomCoordonneeBancaire", at),
                iban=str(entry.get("iban") or ""),
                bic=str(entry.get("bic") or ""),
            )
        )
    expiry = item.get("dateExpirationMotPasseCompteTech")
    return Supplier(
        id_structure_cpp=_req_int(item, "idStructureCPP", where),
        siret=_req_str(item, "siret", where),
        designation=_req_str(item, "designation", where),
        login=_req_str(item, "login", where),
        password=_req_str(item, "password", where),
        password_expires_on=str(expiry) if expiry else None,
        services=_services(item, where),
        bank_coordinates=tuple(coordinates),
    )
