"""The emulator's own request models: strict validation of every body it receives.

Each model lists every field the real API accepts for that operation, with its JSON type;
an unknown or misspelt field, a wrong type, a missing required field or a value outside an
enumeration is refused with a 400 naming the field. The models for the Factures and
Structures operations carry the names of the official Swagger definitions, and a test checks
them against the Swagger files. Documented deviations from the Swagger files (what real
clients send and Chorus accepts):

- ``SoumettreFactureParam.pieceJointePrincipale`` is a one-element **array** (Swagger:
  object);
- ``SoumettreFactureParam.dateFacture`` is a date ``YYYY-MM-DD`` (Swagger: date-time).

The Transverses operations have no public Swagger; their models follow the API notes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

Kind = Literal["string", "integer", "number", "boolean", "date", "datetime", "object", "array"]

KIND_LABELS: dict[str, str] = {
    "string": "une chaîne de caractères",
    "integer": "un nombre entier",
    "number": "un nombre",
    "boolean": "un booléen (true ou false)",
    "date": "une date au format AAAA-MM-JJ",
    "datetime": "une date ou une date-heure ISO 8601",
    "object": "un objet JSON",
    "array": "un tableau JSON",
}

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class RequestInvalid(Exception):
    """A body does not match its model: ``field`` is the dotted path of the culprit."""

    def __init__(self, field_path: str, message: str) -> None:
        super().__init__(message)
        self.field = field_path
        self.message = message


@dataclass(frozen=True)
class Field:
    kind: Kind
    required: bool = False
    enum: tuple[str, ...] = ()
    max_length: int | None = None
    model: Model | None = None  # for "object", and for "array" of objects
    items: Field | None = None  # for "array" of scalars


@dataclass(frozen=True)
class Model:
    """A JSON object with a closed list of fields (``free_form``: any content accepted)."""

    name: str
    fields: Mapping[str, Field] = field(default_factory=dict)
    free_form: bool = False

    def validate(self, value: Any, path: str = "") -> None:
        """Raise :class:`RequestInvalid` unless ``value`` matches this model."""
        if not isinstance(value, dict):
            raise RequestInvalid(path or "(corps)", _type_message(path, "object"))
        if self.free_form:
            return
        for key in value:
            if key not in self.fields:
                raise RequestInvalid(
                    _join(path, key), f"Le champ « {_join(path, key)} » n'existe pas."
                )
        for key, spec in self.fields.items():
            item = value.get(key)
            if item is None:
                if spec.required:
                    where = _join(path, key)
                    raise RequestInvalid(where, f"Le champ « {where} » est obligatoire.")
                continue
            _check(spec, item, _join(path, key))


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _type_message(path: str, kind: str) -> str:
    return f"Le champ « {path or '(corps)'} » doit être {KIND_LABELS[kind]}."


def _check(spec: Field, value: Any, path: str) -> None:
    kind = spec.kind
    if kind == "object":
        if spec.model is not None:
            spec.model.validate(value, path)
        return
    if kind == "array":
        if not isinstance(value, list):
            raise RequestInvalid(path, _type_message(path, "array"))
        for index, item in enumerate(value):
            where = f"{path}[{index}]"
            if spec.model is not None:
                spec.model.validate(item, where)
            elif spec.items is not None:
                if item is None:
                    raise RequestInvalid(where, _type_message(where, spec.items.kind))
                _check(spec.items, item, where)
        return
    if not _scalar_ok(kind, value):
        raise RequestInvalid(path, _type_message(path, kind))
    if spec.enum and value not in spec.enum:
        allowed = ", ".join(spec.enum)
        raise RequestInvalid(
            path, f"Le champ « {path} » doit valoir l'une des valeurs : {allowed}."
        )
    if spec.max_length is not None and len(value) > spec.max_length:
        raise RequestInvalid(
            path, f"Le champ « {path} » dépasse {spec.max_length} caractères ({len(value)})."
        )


def _scalar_ok(kind: str, value: Any) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | Decimal | float) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "date":
        if not isinstance(value, str) or not _DATE.match(value):
            return False
        try:
            date.fromisoformat(value)
        except ValueError:
            return False
        return True
    if kind == "datetime":
        if not isinstance(value, str):
            return False
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return False
        return True
    return False


# -- field constructors -------------------------------------------------------------------------


def text(
    *, required: bool = False, enum: tuple[str, ...] = (), max_length: int | None = None
) -> Field:
    return Field("string", required=required, enum=enum, max_length=max_length)


def integer(*, required: bool = False) -> Field:
    return Field("integer", required=required)


def number(*, required: bool = False) -> Field:
    return Field("number", required=required)


def boolean(*, required: bool = False) -> Field:
    return Field("boolean", required=required)


def iso_date(*, required: bool = False) -> Field:
    return Field("date", required=required)


def iso_datetime(*, required: bool = False) -> Field:
    return Field("datetime", required=required)


def obj(model: Model, *, required: bool = False) -> Field:
    return Field("object", required=required, model=model)


def array_of(item: Model | Field, *, required: bool = False) -> Field:
    if isinstance(item, Model):
        return Field("array", required=required, model=item)
    return Field("array", required=required, items=item)


SORT_DIRECTIONS = ("Descendant", "Ascendant")

TriColonne = Model("TriColonne", free_form=True)


# -- factures/soumettre -------------------------------------------------------------------------

SoumettreFactureDestinataire = Model(
    "SoumettreFactureDestinataire",
    {
        "codeDestinataire": text(required=True),
        "codeServiceExecutant": text(),
    },
)

SoumettreFactureFournisseur = Model(
    "SoumettreFactureFournisseur",
    {
        "idFournisseur": integer(required=True),
        "idServiceFournisseur": integer(),
        "codeCoordonneesBancairesFournisseur": integer(),
    },
)

SoumettreFactureCadreDeFacturation = Model(
    "SoumettreFactureCadreDeFacturation",
    {
        "codeCadreFacturation": text(
            required=True,
            enum=(
                "A1_FACTURE_FOURNISSEUR",
                "A2_FACTURE_FOURNISSEUR_DEJA_PAYEE",
                "A9_FACTURE_SOUSTRAITANT",
                "A12_FACTURE_COTRAITANT",
            ),
        ),
        "codeStructureValideur": text(),
        "codeServiceValideur": text(),
    },
)

SoumettreFactureReferences = Model(
    "SoumettreFactureReferences",
    {
        "deviseFacture": text(required=True, max_length=3),
        "typeFacture": text(required=True, enum=("AVOIR", "FACTURE")),
        "typeTva": text(
            required=True,
            enum=("TVA_SUR_DEBIT", "TVA_SUR_ENCAISSEMENT", "EXONERATION", "SANS_TVA"),
        ),
        "motifExonerationTva": text(),
        "numeroMarche": text(),
        "numeroBonCommande": text(),
        "numeroFactureOrigine": text(),
        "modePaiement": text(
            enum=("CHEQUE", "PRELEVEMENT", "VIREMENT", "ESPECE", "AUTRE", "REPORT"),
        ),
    },
)

LignePosteSoumettreInput = Model(
    "LignePosteSoumettreInput",
    {
        "lignePosteNumero": integer(),
        "lignePosteReference": text(),
        "lignePosteDenomination": text(),
        "lignePosteQuantite": number(),
        "lignePosteUnite": text(),
        "lignePosteMontantUnitaireHT": number(),
        "lignePosteMontantRemiseHT": number(),
        "lignePosteTauxTva": text(),
        "lignePosteTauxTvaManuel": number(),
    },
)

LigneTvaSoumettreInput = Model(
    "LigneTvaSoumettreInput",
    {
        "ligneTvaTaux": text(),
        "ligneTvaMontantBaseHtParTaux": number(),
        "ligneTvaMontantTvaParTaux": number(),
        "ligneTvaTauxManuel": number(),
    },
)

SoumettreFactureMontantTotal = Model(
    "SoumettreFactureMontantTotal",
    {
        "montantHtTotal": number(required=True),
        "montantTVA": number(required=True),
        "montantTtcTotal": number(required=True),
        "montantRemiseGlobaleTTC": number(),
        "motifRemiseGlobaleTTC": text(),
        "montantAPayer": number(required=True),
    },
)

SoumettreFacturePieceJointePrincipale = Model(
    "SoumettreFacturePieceJointePrincipale",
    {
        "pieceJointePrincipaleDesignation": text(),
        "pieceJointePrincipaleId": integer(required=True),
    },
)

PieceJointeComplentaireSoumettreInput = Model(
    "PieceJointeComplentaireSoumettreInput",
    {
        "pieceJointeComplementaireDesignation": text(),
        "pieceJointeComplementaireType": text(),
        "pieceJointeComplementaireNumeroLigneFacture": integer(),
        "pieceJointeComplementaireId": integer(required=True),
        "pieceJointeComplementaireIdLiaison": integer(),
    },
)

SoumettreFactureParam = Model(
    "SoumettreFactureParam",
    {
        "idUtilisateurCourant": integer(),
        "modeDepot": text(
            required=True, enum=("SAISIE_API", "DEPOT_PDF_API", "DEPOT_PDF_SIGNE_API")
        ),
        "numeroFactureSaisi": text(required=True),
        # Deviation: a date (clients send YYYY-MM-DD), not a date-time.
        "dateFacture": iso_date(required=True),
        "destinataire": obj(SoumettreFactureDestinataire, required=True),
        "fournisseur": obj(SoumettreFactureFournisseur, required=True),
        "cadreDeFacturation": obj(SoumettreFactureCadreDeFacturation, required=True),
        "references": obj(SoumettreFactureReferences, required=True),
        "lignePoste": array_of(LignePosteSoumettreInput),
        "ligneTva": array_of(LigneTvaSoumettreInput),
        "montantTotal": obj(SoumettreFactureMontantTotal, required=True),
        # Deviation: a one-element array, as production clients send it.
        "pieceJointePrincipale": array_of(SoumettreFacturePieceJointePrincipale),
        "pieceJointeComplementaire": array_of(PieceJointeComplentaireSoumettreInput),
        "commentaire": text(),
    },
)

# -- factures/rechercher/fournisseur ------------------------------------------------------------

CritereDestinatairePojo = Model(
    "CritereDestinatairePojo",
    {
        "idDestinataire": integer(),
        "listeIdServiceExecutant": array_of(integer()),
        "raisonSocialeStuctDmd": text(),
    },
)

ParametresRechercherFactureParFournisseur = Model(
    "ParametresRechercherFactureParFournisseur",
    {
        "nbResultatsMaximum": integer(),
        "pageResultatDemandee": integer(),
        "nbResultatsParPage": integer(),
        "triSens": text(enum=SORT_DIRECTIONS),
        "triColonne": text(),
        "champsDeTri": obj(TriColonne),
        "ordreTriGenerique": text(enum=SORT_DIRECTIONS),
        "taillePageGenerique": integer(),
        "indexPageGenerique": integer(),
    },
)

RechercherFactureParFournisseurParam = Model(
    "RechercherFactureParFournisseurParam",
    {
        "idUtilisateurCourant": integer(),
        "listeDestinataire": array_of(CritereDestinatairePojo),
        "rechercheSirenDestinataire": boolean(),
        "numeroFacture": text(),
        "periodeDateDepotDu": iso_datetime(),
        "periodeDateDepotAu": iso_datetime(),
        "typeFacture": text(enum=("FACTURE", "AVOIR", "ACOMPTE")),
        "idFournisseur": integer(),
        "idServiceFournisseur": integer(),
        "idStructureValideur": integer(),
        "cadreFacturation": text(),
        "statutCourant": array_of(text()),
        "periodeDateFactureDu": iso_datetime(),
        "periodeDateFactureAu": iso_datetime(),
        "montantHTMin": number(),
        "montantHTMax": number(),
        "montantTTCMin": number(),
        "montantTTCMax": number(),
        "montantApayerMin": number(),
        "montantApayerMax": number(),
        "coordonneeBancaire": integer(),
        "idUtilisateurCreateur": array_of(integer()),
        "numeroMarche": text(),
        "numeroBonCommande": text(),
        "numeroFactureOrigine": text(),
        "modeDepot": text(),
        "numeroFluxDepot": text(),
        "rechercheFactureParFournisseur": obj(ParametresRechercherFactureParFournisseur),
        "recupererTaille": boolean(),
        "periodeDateHeureEtatCourantDu": iso_datetime(),
        "periodeDateHeureEtatCourantAu": iso_datetime(),
        "rejetTraite": boolean(),
    },
)

# -- factures/consulter/fournisseur -------------------------------------------------------------

ParamRechercheLigneRecapTva = Model(
    "ParamRechercheLigneRecapTva",
    {
        "pageResultatDemandeeListeRecapitulatifTVA": integer(),
        "nbResultatsParPageListeListeRecapitulatifTVA": integer(),
        "triSensListeRecapitulatifTVA": text(enum=SORT_DIRECTIONS),
        "triColonneListeRecapitulatifTVA": text(),
        "champsDeTri": obj(TriColonne),
        "ordreTriGenerique": text(enum=SORT_DIRECTIONS),
        "taillePageGenerique": integer(),
        "indexPageGenerique": integer(),
    },
)

ParamRechercheListePiecesJointes = Model(
    "ParamRechercheListePiecesJointes",
    {
        "pageResultatDemandeeListePieceJointe": integer(),
        "nbResultatsParPageListePieceJointe": integer(),
        "triSensListePiecesJointes": text(enum=SORT_DIRECTIONS),
        "triColonneListePiecesJointes": text(),
        "champsDeTri": obj(TriColonne),
        "ordreTriGenerique": text(enum=SORT_DIRECTIONS),
        "taillePageGenerique": integer(),
        "indexPageGenerique": integer(),
    },
)

ParamRechercheLignesPoste = Model(
    "ParamRechercheLignesPoste",
    {
        "pageResultatDemandeeLignesPoste": integer(),
        "nbResultatsParPageLignesPoste": integer(),
        "triSensListeLignesPoste": text(enum=SORT_DIRECTIONS),
        "triColonneListeLignesPoste": text(),
        "champsDeTri": obj(TriColonne),
        "ordreTriGenerique": text(enum=SORT_DIRECTIONS),
        "taillePageGenerique": integer(),
        "indexPageGenerique": integer(),
    },
)

ConsulterFactureParFournisseurParam = Model(
    "ConsulterFactureParFournisseurParam",
    {
        "idUtilisateurCourant": integer(),
        "identifiantFactureCPP": integer(required=True),
        "codeLangue": text(),
        "getpLigneRecapTva": obj(ParamRechercheLigneRecapTva),
        "getpListePiecesJointes": obj(ParamRechercheListePiecesJointes),
        "getpLignesPoste": obj(ParamRechercheLignesPoste),
    },
)

# -- factures/consulter/historique --------------------------------------------------------------

ParamRechercheHistoStatuts = Model(
    "ParamRechercheHistoStatuts",
    {
        "pageResultatDemandeeListeHistoStatut": integer(),
        "nbResultatsParPageListeHistoStatut": integer(),
        "triSensListeHistoStatut": text(enum=SORT_DIRECTIONS),
        "triColonneListeHistoStatut": text(),
        "champsDeTri": obj(TriColonne),
        "ordreTriGenerique": text(enum=SORT_DIRECTIONS),
        "taillePageGenerique": integer(),
        "indexPageGenerique": integer(),
    },
)

ParamRechercheHistoEvenementsComplementaires = Model(
    "ParamRechercheHistoEvenementsComplementaires",
    {
        "pageResultatDemandeeListeHistoEvenement": integer(),
        "nbResultatsParPageListeHistoEvenement": integer(),
        "triSensListeHistoEvenement": text(enum=SORT_DIRECTIONS),
        "triColonneListeHistoEvenement": text(),
        "champsDeTri": obj(TriColonne),
        "ordreTriGenerique": text(enum=SORT_DIRECTIONS),
        "taillePageGenerique": integer(),
        "indexPageGenerique": integer(),
    },
)

ParamRechercheHistoActionsUtilisateurs = Model(
    "ParamRechercheHistoActionsUtilisateurs",
    {
        "pageResultatDemandeeListeHistoAction": integer(),
        "triSensListeHistoAction": text(enum=SORT_DIRECTIONS),
        "triColonneListeHistoAction": text(),
        "champsDeTri": obj(TriColonne),
        "ordreTriGenerique": text(enum=SORT_DIRECTIONS),
        "taillePageGenerique": integer(),
        "indexPageGenerique": integer(),
        "nbResultatsParPageListeHistoAction": integer(),
    },
)

ConsulterHistoriqueFactureParam = Model(
    "ConsulterHistoriqueFactureParam",
    {
        "idUtilisateurCourant": integer(),
        "idFacture": integer(required=True),
        "idEspace": integer(),
        "nbResultatsMaximum": integer(),
        "paramRechercheHistoStatuts": obj(ParamRechercheHistoStatuts),
        "paramRechercheHistoEvenementsComplementaires": obj(
            ParamRechercheHistoEvenementsComplementaires
        ),
        "paramRechercheHistoActionsUtilisateurs": obj(ParamRechercheHistoActionsUtilisateurs),
    },
)

# -- structures/* -------------------------------------------------------------------------------

IDENTIFIER_TYPES = ("SIRET", "UE_HORS_FRANCE", "HORS_UE", "RIDET", "TAHITI", "AUTRE", "PARTICULIER")

ParametresRechercherStructure = Model(
    "ParametresRechercherStructure",
    {
        "nbResultatsParPage": integer(),
        "pageResultatDemandee": integer(),
        "triColonne": text(
            enum=(
                "IdentifiantStructure",
                "DesignationStructure",
                "TypeIdentifiantStructure",
                "Statut",
            )
        ),
        "triSens": text(enum=SORT_DIRECTIONS),
    },
)

RechercherStructureInput = Model(
    "RechercherStructureInput",
    {
        "adresseCodePays": text(),
        "adresseCodePostal": text(),
        "adresseVille": text(),
        "estMOA": boolean(),
        "estMOAUniquement": boolean(),
        "identifiantStructure": text(),
        "libelleStructure": text(),
        "nomStructure": text(),
        "prenomStructure": text(),
        "raisonSocialeStructure": text(),
        "statutStructure": text(enum=("ACTIF", "INACTIF")),
        "typeIdentifiantStructure": text(enum=IDENTIFIER_TYPES),
        "typeStructure": text(enum=("PRIVEE", "PUBLIQUE")),
    },
)

RechercherStructureParam = Model(
    "RechercherStructureParam",
    {
        "parametres": obj(ParametresRechercherStructure),
        "restreindreStructuresPrivees": boolean(),
        "structure": obj(RechercherStructureInput),
    },
)

ConsulterStructureAvecTVAIntraComParam = Model(
    "ConsulterStructureAvecTVAIntraComParam",
    {
        "codeLangue": text(),
        "idStructureCPP": integer(required=True),
    },
)

ParametresRechercherServicesStructure = Model(
    "ParametresRechercherServicesStructure",
    {
        "nbResultatsParPage": integer(),
        "pageResultatDemandee": integer(),
        "triColonne": text(
            enum=("CodeService", "LibelleService", "DateDbtService", "DateFinService", "EstActif")
        ),
        "triSens": text(enum=SORT_DIRECTIONS),
    },
)

RechercherServicesStructureParam = Model(
    "RechercherServicesStructureParam",
    {
        "idStructure": integer(required=True),
        "parametresRechercherServicesStructure": obj(ParametresRechercherServicesStructure),
    },
)

ConsulterServiceStructureParam = Model(
    "ConsulterServiceStructureParam",
    {
        "codeLangue": text(),
        "idService": integer(required=True),
        "idStructure": integer(required=True),
    },
)

# -- transverses/* (no public Swagger: fields from the API notes) ------------------------------

AjouterFichierParam = Model(
    "AjouterFichierParam",
    {
        "idUtilisateurCourant": integer(),
        "pieceJointeFichier": text(required=True),
        "pieceJointeNom": text(required=True),
        "pieceJointeTypeMime": text(required=True),
        "pieceJointeExtension": text(required=True),
    },
)

RecupererStructuresActivesFournisseurParam = Model(
    "RecupererStructuresActivesFournisseurParam",
    {"idUtilisateurCourant": integer()},
)

RecupererCoordonneesBancairesValidesParam = Model(
    "RecupererCoordonneesBancairesValidesParam",
    {
        "idUtilisateurCourant": integer(),
        "idStructure": integer(required=True),
    },
)

RecupererMotifsExonerationTvaParam = Model(
    "RecupererMotifsExonerationTvaParam",
    {"codeLangue": text(enum=("FR", "EN", "fr", "en"))},
)

# The objects an attachment may belong to (go-choruspro transverses_pieces_jointes.go).
TYPES_OBJET = (
    "STRUCTURE",
    "UTILISATEUR",
    "CB",
    "MANDAT",
    "FICHE_RACCORDEMENT",
    "EJ",
    "MEMOIRE",
    "DMD_RBST",
    "TRANSVERSE",
    "FACTURE_TRAVAUX",
    "FACTURE",
    "DMDE_CPTE_DEV_SI_EXT",
    "SOLLICITATION",
    "CERTIFICAT",
    "PJ_REJET_EDI",
)

RecupererTypesPieceJointeParam = Model(
    "RecupererTypesPieceJointeParam",
    {
        "codeLangue": text(enum=("FR", "EN", "fr", "en")),
        "typeObjet": text(enum=TYPES_OBJET),
    },
)

# Request model of each operation checked against the official Swagger: operation path →
# (Swagger file, model). The Transverses operations are absent (no public Swagger).
SWAGGER_CHECKED: dict[str, tuple[str, Model]] = {
    "/v1/soumettre": ("factures.json", SoumettreFactureParam),
    "/v1/rechercher/fournisseur": ("factures.json", RechercherFactureParFournisseurParam),
    "/v1/consulter/fournisseur": ("factures.json", ConsulterFactureParFournisseurParam),
    "/v1/consulter/historique": ("factures.json", ConsulterHistoriqueFactureParam),
    "/v1/rechercher": ("structures.json", RechercherStructureParam),
    "/v1/consulter": ("structures.json", ConsulterStructureAvecTVAIntraComParam),
    "/v1/rechercher/services": ("structures.json", RechercherServicesStructureParam),
    "/v1/consulter/service": ("structures.json", ConsulterServiceStructureParam),
}
