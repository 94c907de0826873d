"""The emulator's HTTP behaviour, through Werkzeug's test client (no sockets).

Transport, authentication and validation; attachment and submission rules with one
``codeRetour`` per refusal; structures; invoice life over simulated time; control endpoints
and faults that do not need a real connection (those are in test_integration.py).
"""

from __future__ import annotations

import base64
import copy
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from werkzeug.test import Client

from portal.chorus import jsonbody
from portal.chorus.emulator.app import EmulatorApp
from portal.chorus.emulator.codes import Code
from portal.chorus.emulator.directory import DEFAULT_DIRECTORY_PATH, load_directory, parse_directory
from portal.chorus.emulator.faults import Faults
from portal.chorus.emulator.operations import ATTACHMENT_TYPE_LABELS, VAT_EXEMPTION_LABELS
from portal.chorus.emulator.server import EmulatorOptions, build_state
from portal.chorus.emulator.state import EmulatorState
from tests.chorus.emulator_fixtures import (
    ATTACHMENT_TYPE,
    BANK_DETAILS_ID,
    CLIENT_ID,
    CLIENT_SECRET,
    SUPPLIER_ID,
    SUPPLIER_SERVICE_ID,
    TECH_LOGIN,
    TECH_PASSWORD,
    exempt_invoice,
)

PDF = b"%PDF-1.4 avis"


def account(login: str = TECH_LOGIN, password: str = TECH_PASSWORD) -> str:
    return base64.b64encode(f"{login}:{password}".encode()).decode()


@dataclass
class Answer:
    status: int
    data: Any
    headers: Any

    @property
    def code(self) -> Any:
        return self.data.get("codeRetour") if isinstance(self.data, dict) else None


class Emu:
    """An emulator app and helpers to call it like the portal would."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.http = Client(EmulatorApp(state))
        self._token: str | None = None

    def token(self) -> str:
        if self._token is None:
            answer = self.get_token()
            assert answer.status == 200, answer.data
            self._token = answer.data["access_token"]
        return self._token

    def get_token(self, client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET, **form: str):
        data = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
            "scope": "openid",
            **form,
        }
        response = self.http.post("/api/oauth/token", data=data)
        return Answer(response.status_code, response.get_json(silent=True), response.headers)

    def call(
        self,
        path: str,
        body: Any = None,
        *,
        method: str = "POST",
        token: str | None = None,
        cpro_account: str | None = None,
        raw: bytes | None = None,
        content_type: str = "application/json;charset=utf-8",
    ) -> Answer:
        headers = {
            "Authorization": f"Bearer {token or self.token()}",
            "cpro-account": cpro_account if cpro_account is not None else account(),
            "Accept": "application/json;charset=utf-8",
        }
        data = (
            raw
            if raw is not None
            else (jsonbody.dumps(body).encode() if body is not None else None)
        )
        response = self.http.open(
            path, method=method, data=data, headers=headers, content_type=content_type
        )
        try:
            parsed = json.loads(response.get_data(), parse_float=Decimal)
        except ValueError:
            parsed = response.get_data(as_text=True)
        return Answer(response.status_code, parsed, response.headers)

    def upload(self, content: bytes = PDF, name: str = "avis.pdf", **overrides: Any) -> Answer:
        body = {
            "pieceJointeFichier": base64.b64encode(content).decode(),
            "pieceJointeNom": name,
            "pieceJointeTypeMime": "application/pdf",
            "pieceJointeExtension": name.rsplit(".", 1)[-1] if "." in name else "pdf",
            **overrides,
        }
        return self.call("/cpro/transverses/v1/ajouter/fichier", body)

    def attachment(self) -> int:
        answer = self.upload()
        assert answer.code == 0, answer.data
        return int(answer.data["pieceJointeId"])

    def submit(self, body: dict[str, Any]) -> Answer:
        return self.call("/cpro/factures/v1/soumettre", body)

    def control(self, path: str, body: Any = None, method: str = "POST") -> Answer:
        response = self.http.open(f"/_emulator/{path}", method=method, json=body)
        return Answer(response.status_code, response.get_json(silent=True), response.headers)


@pytest.fixture
def emu() -> Emu:
    return Emu(build_state(EmulatorOptions(speed=0)))


def invoice(emu: Emu, numero: str = "Q2026-0001", **changes: Any) -> dict[str, Any]:
    """A valid soumettre body for the rule-free structure 26000100; ``changes`` use dotted keys."""
    supplier = {
        "idFournisseur": SUPPLIER_ID,
        "idServiceFournisseur": SUPPLIER_SERVICE_ID,
        "codeCoordonneesBancairesFournisseur": BANK_DETAILS_ID,
    }
    body = exempt_invoice(
        numero,
        emu.attachment(),
        amount=Decimal("1090.00"),
        supplier=supplier,
        modePaiement="VIREMENT",
    )
    for dotted, value in changes.items():
        *parents, leaf = dotted.split("__")
        target = body
        for parent in parents:
            target = target[parent]
        if value is DELETE:
            del target[leaf]
        else:
            target[leaf] = value
    return body


DELETE = object()


def typed(identifier: int, kind: str = ATTACHMENT_TYPE) -> dict[str, Any]:
    """A secondary attachment with a type of the emulator's list."""
    return {"pieceJointeComplementaireId": identifier, "pieceJointeComplementaireType": kind}


def accepted(emu: Emu, body: dict[str, Any]) -> int:
    answer = emu.submit(body)
    assert answer.status == 200 and answer.code == 0, answer.data
    return int(answer.data["identifiantFactureCPP"])


# -- OAuth ----------------------------------------------------------------------------------------


def test_the_token_endpoint_issues_expiring_bearer_tokens(emu):
    answer = emu.get_token()
    assert answer.status == 200
    assert answer.data["token_type"] == "Bearer"
    assert answer.data["expires_in"] == 3600
    assert answer.data["access_token"]


def test_the_token_endpoint_refuses_unknown_clients_and_grants(emu):
    wrong = emu.get_token(secret="nope")
    assert (wrong.status, wrong.data["error"]) == (401, "invalid_client")
    grant = emu.get_token(grant_type="password")
    assert (grant.status, grant.data["error"]) == (400, "unsupported_grant_type")


def test_a_token_expires_after_its_configured_lifetime():
    now = [0.0]
    state = EmulatorState(load_directory(), token_lifetime=60, monotonic=lambda: now[0])
    emu = Emu(state)
    token = emu.token()
    assert emu.call("/cpro/transverses/v1/health-check", method="GET").status == 200
    now[0] += 61
    answer = emu.call("/cpro/transverses/v1/health-check", method="GET", token=token)
    assert answer.status == 401
    assert answer.data["codeRetour"] == 401
    assert "expiré" in answer.data["libelle"]


# -- transport and authentication ---------------------------------------------------------------


def test_api_calls_need_a_valid_token(emu):
    answer = emu.call("/cpro/structures/v1/consulter", {"idStructureCPP": 1}, token="forged")
    assert answer.status == 401
    assert set(answer.data) == {"codeRetour", "libelle"}


@pytest.mark.parametrize(
    "header",
    [account(password="wrong"), account(login="TECH_1_00000000000000@cpro.fr"), "%%%", ""],
)
def test_api_calls_need_the_technical_account(emu, header):
    answer = emu.call("/cpro/structures/v1/consulter", {"idStructureCPP": 1}, cpro_account=header)
    assert answer.status == 401
    assert "cpro-account" in answer.data["libelle"]


def test_unknown_routes_are_404_with_the_envelope(emu):
    answer = emu.call("/cpro/factures/v1/inexistant", {})
    assert answer.status == 404
    assert answer.data["codeRetour"] == 404


def test_a_wrong_method_is_405(emu):
    assert emu.call("/cpro/factures/v1/soumettre", method="GET").status == 405


def test_a_non_json_body_is_415(emu):
    answer = emu.call(
        "/cpro/structures/v1/consulter", raw=b"idStructureCPP=1", content_type="text/plain"
    )
    assert answer.status == 415
    assert answer.data["codeRetour"] == 415


def test_broken_json_is_400(emu):
    answer = emu.call("/cpro/structures/v1/consulter", raw=b'{"idStructureCPP": ')
    assert (answer.status, answer.code) == (400, Code.INVALID_REQUEST)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"idStructureCPP": 1, "codeLangage": "FR"}, "codeLangage"),
        ({"idStructureCPP": "26000100"}, "idStructureCPP"),
        ({"idStructureCPP": True}, "idStructureCPP"),
        ({"codeLangue": "FR"}, "idStructureCPP"),
        ([], "(corps)"),
    ],
)
def test_request_models_refuse_unknown_fields_wrong_types_and_missing_fields(emu, body, field):
    answer = emu.call("/cpro/structures/v1/consulter", body)
    assert (answer.status, answer.code) == (400, Code.INVALID_REQUEST)
    assert f"« {field} »" in answer.data["libelle"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"references__numeroBonComande": "EJ1"}, "references.numeroBonComande"),
        ({"montantTotal__montantTVA": "0.00"}, "montantTotal.montantTVA"),
        ({"dateFacture": "2026-03-02T00:00:00"}, "dateFacture"),
        ({"dateFacture": "02/03/2026"}, "dateFacture"),
        ({"references__typeFacture": "DEVIS"}, "references.typeFacture"),
        ({"fournisseur__idFournisseur": DELETE}, "fournisseur.idFournisseur"),
        ({"pieceJointePrincipale": {"pieceJointePrincipaleId": 1}}, "pieceJointePrincipale"),
    ],
)
def test_soumettre_validation_names_the_culprit_field(emu, changes, field):
    answer = emu.submit(invoice(emu, **changes))
    assert (answer.status, answer.code) == (400, Code.INVALID_REQUEST)
    assert f"« {field} »" in answer.data["libelle"]
    assert not emu.state.invoices


def test_a_nested_misspelt_field_inside_an_array_is_named_with_its_index(emu):
    body = invoice(emu)
    body["pieceJointePrincipale"][0]["pieceJointeId"] = 3
    answer = emu.submit(body)
    assert "« pieceJointePrincipale[0].pieceJointeId »" in answer.data["libelle"]


# -- attachments ----------------------------------------------------------------------------------


def test_an_attachment_gets_an_id_and_belongs_to_the_account(emu):
    answer = emu.upload()
    assert answer.code == 0
    stored = emu.state.attachments[answer.data["pieceJointeId"]]
    assert (stored.owner, stored.size, stored.extension) == (TECH_LOGIN, len(PDF), "pdf")


@pytest.mark.parametrize(
    ("content", "name", "overrides", "code"),
    [
        (b"", "a.pdf", {}, Code.FILE_EMPTY_OR_NOT_BASE64),
        (PDF, "a.pdf", {"pieceJointeFichier": "pas du base64 !"}, Code.FILE_EMPTY_OR_NOT_BASE64),
        (b"x" * (10 * 1024 * 1024 + 1), "a.pdf", {}, Code.FILE_TOO_LARGE),
        (PDF, "n" * 47 + ".pdf", {}, Code.FILE_NAME_TOO_LONG),
        (PDF, "virus.exe", {}, Code.FILE_EXTENSION_REFUSED),
        (PDF, "avis.doc", {"pieceJointeExtension": "pdf"}, Code.FILE_EXTENSION_REFUSED),
    ],
    ids=["empty", "not-base64", "over-10-mb", "name-too-long", "extension", "name-mismatch"],
)
def test_attachment_refusals(emu, content, name, overrides, code):
    answer = emu.upload(content, name, **overrides)
    assert (answer.status, answer.code) == (200, code)
    assert answer.data["libelle"]
    assert not emu.state.attachments


def test_a_file_of_exactly_10_mb_and_a_50_character_name_are_accepted(emu):
    answer = emu.upload(b"x" * (10 * 1024 * 1024), "n" * 46 + ".pdf")
    assert answer.code == 0


# -- soumettre ------------------------------------------------------------------------------------


def test_an_accepted_invoice_gets_an_id_and_status_deposee(emu):
    answer = emu.submit(invoice(emu))
    assert answer.code == 0
    assert answer.data["statutFacture"] == "DEPOSEE"
    assert answer.data["numeroFacture"] == "Q2026-0001"
    assert isinstance(answer.data["identifiantFactureCPP"], int)
    assert answer.data["dateDepot"]
    assert answer.data["empreinteCertificatDepot"]


SIRET_INACTIVE = "28603208107374"
SIRET_SERVICE_REQUIRED = "28797309311412"
SIRET_EJ_REQUIRED = "27075364355686"
SIRET_EJ_OR_SERVICE = "21518844272944"


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"destinataire__codeDestinataire": "11111111111111"}, Code.RECIPIENT_UNKNOWN),
        ({"destinataire__codeDestinataire": SIRET_INACTIVE}, Code.RECIPIENT_INACTIVE),
        ({"destinataire__codeDestinataire": "80283822726464"}, Code.RECIPIENT_NOT_PUBLIC),
        (
            {
                "destinataire__codeDestinataire": SIRET_SERVICE_REQUIRED,
                "destinataire__codeServiceExecutant": DELETE,
            },
            Code.SERVICE_CODE_REQUIRED,
        ),
        ({"destinataire__codeDestinataire": SIRET_EJ_REQUIRED}, Code.ENGAGEMENT_REQUIRED),
        (
            {
                "destinataire__codeDestinataire": SIRET_EJ_OR_SERVICE,
                "destinataire__codeServiceExecutant": DELETE,
            },
            Code.ENGAGEMENT_OR_SERVICE_REQUIRED,
        ),
        ({"destinataire__codeServiceExecutant": "INCONNU"}, Code.SERVICE_UNKNOWN),
        ({"destinataire__codeServiceExecutant": "ANCIEN-SVC"}, Code.SERVICE_INACTIVE),
        ({"destinataire__codeServiceExecutant": "FACTURES_PUBLIQUES"}, Code.SERVICE_RESERVED),
        ({"destinataire__codeServiceExecutant": "TECHNIQUE"}, Code.SERVICE_ENGAGEMENT_REQUIRED),
        ({"fournisseur__idFournisseur": 26000100}, Code.SUPPLIER_NOT_OWNED),
        ({"fournisseur__idServiceFournisseur": 1}, Code.SUPPLIER_SERVICE_UNKNOWN),
        ({"fournisseur__codeCoordonneesBancairesFournisseur": 1}, Code.BANK_DETAILS_NOT_OWNED),
        (
            {"pieceJointeComplementaire": [{"pieceJointeComplementaireId": 123}]},
            Code.ATTACHMENT_UNKNOWN,
        ),
        ({"pieceJointePrincipale": []}, Code.MAIN_ATTACHMENT_MISSING),
        ({"pieceJointePrincipale": DELETE}, Code.MAIN_ATTACHMENT_MISSING),
        ({"montantTotal__montantTtcTotal": Decimal("1090.01")}, Code.AMOUNTS_INCONSISTENT),
        ({"montantTotal__montantAPayer": Decimal("2000.00")}, Code.AMOUNTS_INCONSISTENT),
        (
            {
                "montantTotal__montantHtTotal": Decimal("1000.00"),
                "montantTotal__montantTVA": Decimal("90.00"),
            },
            Code.AMOUNTS_INCONSISTENT,
        ),
        (
            {
                "montantTotal__montantHtTotal": Decimal("1090.001"),
                "montantTotal__montantTtcTotal": Decimal("1090.001"),
                "montantTotal__montantAPayer": Decimal("1090.001"),
            },
            Code.AMOUNTS_INCONSISTENT,
        ),
        (
            {
                "montantTotal__montantHtTotal": Decimal("-5.00"),
                "montantTotal__montantTtcTotal": Decimal("-5.00"),
                "montantTotal__montantAPayer": Decimal("-5.00"),
            },
            Code.AMOUNTS_INCONSISTENT,
        ),
        ({"references__motifExonerationTva": DELETE}, Code.VAT_EXEMPTION_REASON_MISSING),
        (
            {"references__motifExonerationTva": "Opérations d'assurance (article 261 C du CGI)"},
            Code.VAT_EXEMPTION_REASON_UNKNOWN,
        ),
        ({"references__motifExonerationTva": "assurance_261c"}, Code.VAT_EXEMPTION_REASON_UNKNOWN),
        ({"numeroFactureSaisi": "  "}, Code.INVALID_REQUEST),
    ],
)
def test_each_submission_refusal_has_its_own_code_and_a_french_libelle(emu, changes, code):
    answer = emu.submit(invoice(emu, **changes))
    assert (answer.status, answer.code) == (200, code), answer.data
    assert answer.data["libelle"]
    assert not emu.state.invoices


def test_the_rules_are_satisfied_by_the_missing_field(emu):
    accepted(emu, invoice(emu, "A1", destinataire__codeDestinataire=SIRET_SERVICE_REQUIRED))
    accepted(
        emu,
        invoice(
            emu,
            "A2",
            destinataire__codeDestinataire=SIRET_EJ_REQUIRED,
            references__numeroBonCommande="EJ-1",
        ),
    )
    accepted(
        emu,
        invoice(
            emu,
            "A3",
            destinataire__codeDestinataire=SIRET_EJ_OR_SERVICE,
            destinataire__codeServiceExecutant=DELETE,
            references__numeroBonCommande="EJ-1",
        ),
    )
    accepted(
        emu,
        invoice(
            emu,
            "A4",
            destinataire__codeServiceExecutant="TECHNIQUE",
            references__numeroBonCommande="EJ-2",
        ),
    )


def test_a_fee_invoice_with_vat_and_a_credit_note_are_accepted(emu):
    accepted(
        emu,
        invoice(
            emu,
            "FH1",
            references__typeTva="TVA_SUR_DEBIT",
            references__motifExonerationTva=DELETE,
            montantTotal__montantHtTotal=Decimal("500.00"),
            montantTotal__montantTVA=Decimal("100.00"),
            montantTotal__montantTtcTotal=Decimal("600.00"),
            montantTotal__montantAPayer=Decimal("600.00"),
        ),
    )
    accepted(
        emu, invoice(emu, "AV1", references__typeFacture="AVOIR", references__modePaiement=DELETE)
    )


def test_vat_on_an_exempt_invoice_is_refused(emu):
    body = invoice(
        emu,
        montantTotal__montantHtTotal=Decimal("500.00"),
        montantTotal__montantTVA=Decimal("100.00"),
        montantTotal__montantTtcTotal=Decimal("600.00"),
        montantTotal__montantAPayer=Decimal("600.00"),
    )
    assert emu.submit(body).code == Code.AMOUNTS_INCONSISTENT


def test_attachments_of_another_technical_account_are_unknown():
    data = json.loads(DEFAULT_DIRECTORY_PATH.read_text())
    other = copy.deepcopy(data["suppliers"][0])
    other.update(idStructureCPP=25000002, siret="11000201100044", login="TECH_2@cpro.fr")
    data["suppliers"].append(other)
    emu = Emu(EmulatorState(parse_directory(data), faults=Faults()))
    theirs = emu.call(
        "/cpro/transverses/v1/ajouter/fichier",
        {
            "pieceJointeFichier": base64.b64encode(PDF).decode(),
            "pieceJointeNom": "a.pdf",
            "pieceJointeTypeMime": "application/pdf",
            "pieceJointeExtension": "pdf",
        },
        cpro_account=account(login="TECH_2@cpro.fr"),
    ).data["pieceJointeId"]
    body = invoice(emu)
    body["pieceJointePrincipale"][0]["pieceJointePrincipaleId"] = theirs
    assert emu.submit(body).code == Code.ATTACHMENT_UNKNOWN
    body = invoice(emu, fournisseur__idFournisseur=25000002)
    assert emu.submit(body).code == Code.SUPPLIER_NOT_OWNED


def test_all_attachments_of_an_invoice_together_are_limited_to_120_mb(emu):
    ids = [emu.attachment() for _ in range(13)]
    for identifier in ids:
        emu.state.attachments[identifier].size = 10 * 1024 * 1024
    body = invoice(
        emu,
        pieceJointeComplementaire=[typed(i) for i in ids[:11]],
    )
    assert accepted(emu, body)  # main (13 bytes) + 11 × 10 MB ≤ 120 MB
    body = invoice(
        emu,
        "Q2",
        pieceJointeComplementaire=[typed(i) for i in ids[:12]],
    )
    assert emu.submit(body).code == Code.ATTACHMENTS_TOO_LARGE


def test_a_number_already_submitted_is_refused_even_once_the_first_is_rejected(emu):
    accepted(emu, invoice(emu, "DUP-1"))
    duplicate = emu.submit(invoice(emu, "DUP-1"))
    assert duplicate.code == Code.DUPLICATE_NUMBER
    rejected_siret = "29787534677876"  # scenario "rejected"
    first = accepted(emu, invoice(emu, "DUP-2", destinataire__codeDestinataire=rejected_siret))
    emu.control("clock/advance", {"hours": 48})
    status = emu.call("/cpro/factures/v1/consulter/historique", {"idFacture": first}).data
    assert status["statutCourantCode"] == "REJETEE"
    # « Émettez un nouveau document sous un nouveau numéro »: the number is spent.
    again = emu.submit(invoice(emu, "DUP-2"))
    assert again.code == Code.DUPLICATE_NUMBER
    assert f"identifiant {first}" in again.data["libelle"]
    stats = emu.control("stats", method="GET").data
    assert stats["submissions"] == {"DUP-1": 2, "DUP-2": 2}
    assert stats["invoices_created"] == {"DUP-1": 1, "DUP-2": 1}
    assert stats["duplicates"] == []


def test_a_number_differing_only_by_its_case_is_the_same_number(emu):
    accepted(emu, invoice(emu, "Fh2026-07"))
    refused = emu.submit(invoice(emu, "FH2026-07"))
    assert refused.code == Code.DUPLICATE_NUMBER
    assert "Fh2026-07" in refused.data["libelle"]
    assert emu.submit(invoice(emu, "fh2026-07")).code == Code.DUPLICATE_NUMBER


@pytest.mark.parametrize(
    "numero",
    ["Q2026-000000000000001", "Q 2026 1", "Q-été", "Q.2026", "Q#1", "Q\n1"],
    ids=["21 characters", "space", "accent", "dot", "hash", "newline"],
)
def test_a_number_chorus_cannot_take_is_refused(emu, numero):
    refused = emu.submit(invoice(emu, numero))
    assert refused.code == Code.NUMBER_INVALID


def test_a_number_of_20_characters_with_plus_dash_underscore_and_slash_is_taken(emu):
    accepted(emu, invoice(emu, "A+b-C_d/2026-0000001"))


def credit_note(emu: Emu, numero: str = "AV2026-0001", **changes: Any) -> dict[str, Any]:
    """A valid AVOIR: positive amounts, an origin, no payment mode (EVIDENCE.md § 5)."""
    defaults: dict[str, Any] = {
        "references__typeFacture": "AVOIR",
        "references__numeroFactureOrigine": "Q2026-0001",
        "references__modePaiement": DELETE,
    }
    return invoice(emu, numero, **{**defaults, **changes})


def test_b10_a_credit_note_with_positive_amounts_an_origin_and_no_payment_mode_is_taken(emu):
    identifier = accepted(emu, credit_note(emu))
    assert emu.state.invoices[identifier].type_facture == "AVOIR"


def test_b10_a_credit_note_without_origin_is_taken(emu):
    # B10: the origin is sent "when known" (a refund of a premium Chorus never saw).
    body = credit_note(emu)
    del body["references"]["numeroFactureOrigine"]
    accepted(emu, body)


def test_b10_a_credit_note_with_negative_amounts_is_refused(emu):
    body = credit_note(
        emu,
        montantTotal__montantHtTotal=Decimal("-109.00"),
        montantTotal__montantTtcTotal=Decimal("-109.00"),
        montantTotal__montantAPayer=Decimal("-109.00"),
    )
    refused = emu.submit(body)
    assert refused.code == Code.AMOUNTS_INCONSISTENT
    assert "un avoir porte des montants positifs" in refused.data["libelle"]


def test_b10_a_credit_note_with_a_payment_mode_is_refused(emu):
    body = credit_note(emu, references__modePaiement="VIREMENT")
    assert emu.submit(body).code == Code.CREDIT_NOTE_PAYMENT_MODE


def test_b10_an_invoice_naming_an_origin_is_refused(emu):
    body = invoice(emu, "Q2026-0002", references__numeroFactureOrigine="Q2026-0001")
    assert emu.submit(body).code == Code.ORIGIN_ON_INVOICE


# -- invoice life ---------------------------------------------------------------------------------


def status_of(emu: Emu, identifier: int) -> Answer:
    return emu.call("/cpro/factures/v1/consulter/historique", {"idFacture": identifier})


@pytest.mark.parametrize(
    ("siret", "service", "hours", "final", "comment"),
    [
        ("21588139298698", "FINANCES", 1000, "MISE_EN_PAIEMENT", None),
        ("22731778148647", "FINANCES", 1000, "MANDATEE", None),
        ("29787534677876", "FINANCES", 1000, "REJETEE", "montant ne correspond pas"),
        ("26804571378475", "FINANCES", 1000, "SUSPENDUE", "attestation d'assurance"),
        ("22671475613628", "FINANCES", 1000, "A_RECYCLER", "Code service erroné"),
    ],
)
def test_invoices_follow_their_structure_scenario(emu, siret, service, hours, final, comment):
    identifier = accepted(
        emu,
        invoice(
            emu,
            destinataire__codeDestinataire=siret,
            destinataire__codeServiceExecutant=service,
        ),
    )
    assert status_of(emu, identifier).data["statutCourantCode"] == "DEPOSEE"
    emu.control("clock/advance", {"hours": hours})
    answer = status_of(emu, identifier)
    assert answer.data["statutCourantCode"] == final
    latest = answer.data["historiquesDesStatuts"]["histoStatut"][0]
    assert latest["histoStatutCode"] == final
    if comment:
        assert comment in latest["histoStatutCommentaire"]
    else:
        assert "histoStatutCommentaire" not in latest


def test_a_paid_invoice_goes_through_the_real_status_path(emu):
    identifier = accepted(emu, invoice(emu))
    seen = []
    for _ in range(8):
        seen.append(status_of(emu, identifier).data["statutCourantCode"])
        emu.control("clock/advance", {"hours": 24})
    assert seen == [
        "DEPOSEE",
        "PRISE_EN_COMPTE_DESTINATAIRE",
        "SERVICE_FAIT",
        "SERVICE_FAIT",
        "MANDATEE",
        "MANDATEE",
        "MISE_EN_PAIEMENT",
        "MISE_EN_PAIEMENT",
    ]
    history = status_of(emu, identifier).data["historiquesDesStatuts"]
    codes = [h["histoStatutCode"] for h in reversed(history["histoStatut"])]
    assert codes == [
        "DEPOSEE",
        "EN_COURS_ACHEMINEMENT",
        "MISE_A_DISPOSITION",
        "PRISE_EN_COMPTE_DESTINATAIRE",
        "SERVICE_FAIT",
        "MANDATEE",
        "MISE_EN_PAIEMENT",
    ]
    limited = emu.call(
        "/cpro/factures/v1/consulter/historique", {"idFacture": identifier, "nbResultatsMaximum": 2}
    )
    assert len(limited.data["historiquesDesStatuts"]["histoStatut"]) == 2


def test_the_clock_runs_at_the_configured_speed():
    now = [0.0]
    state = EmulatorState(load_directory(), speed=3600, monotonic=lambda: now[0])
    emu = Emu(state)
    identifier = accepted(emu, invoice(emu))
    now[0] += 2.5  # 2.5 simulated hours
    assert status_of(emu, identifier).data["statutCourantCode"] == "MISE_A_DISPOSITION"
    assert emu.control("clock", {"speed": 0}).data["speed"] == 0


def test_search_reflects_statuses_and_filters(emu):
    first = accepted(emu, invoice(emu, "S1"))
    accepted(emu, invoice(emu, "S2", destinataire__codeDestinataire="29787534677876"))
    emu.control("clock/advance", {"days": 10})
    search = "/cpro/factures/v1/rechercher/fournisseur"
    answer = emu.call(search, {"numeroFacture": "S1", "idFournisseur": SUPPLIER_ID})
    rows = answer.data["listeFactures"]
    assert [(r["identifiantFactureCPP"], r["statut"]) for r in rows] == [
        (first, "MISE_EN_PAIEMENT")
    ]
    assert rows[0]["montantTTC"] == Decimal("1090.00")
    rejected = emu.call(search, {"statutCourant": ["REJETEE"]}).data["listeFactures"]
    assert [r["numeroFacture"] for r in rejected] == ["S2"]
    assert "bon de commande" in rejected[0]["commentaireEtatCourant"]
    paged = emu.call(
        search,
        {"rechercheFactureParFournisseur": {"nbResultatsParPage": 1, "pageResultatDemandee": 2}},
    ).data
    assert paged["parametresRetour"] == {
        "pageCourante": 2,
        "pages": 2,
        "nbResultatsParPage": 1,
        "total": 2,
    }
    assert [r["numeroFacture"] for r in paged["listeFactures"]] == ["S2"]
    empty = emu.call(search, {"numeroFacture": "INCONNU"})
    assert (empty.status, empty.code) == (200, Code.EMPTY_RESULT)


def test_consulter_fournisseur_returns_the_invoice_as_submitted(emu):
    identifier = accepted(emu, invoice(emu, references__numeroBonCommande="EJ-9"))
    facture = emu.call(
        "/cpro/factures/v1/consulter/fournisseur", {"identifiantFactureCPP": identifier}
    ).data["facture"]
    assert facture["numeroFacture"] == "Q2026-0001"
    assert facture["statutFacture"] == "DEPOSEE"
    assert facture["destinataire"]["codeServiceExecutant"] == "FINANCES"
    assert facture["fournisseur"]["idFournisseur"] == SUPPLIER_ID
    assert facture["references"]["numeroBonCommande"] == "EJ-9"
    assert facture["references"]["motifExonerationTva"] == "ASSURANCE_261C"
    label = facture["references"]["libelleMotifExonerationTva"]
    assert label == VAT_EXEMPTION_LABELS["ASSURANCE_261C"]
    assert facture["montantTotal"]["montantAPayer"] == Decimal("1090.00")
    unknown = emu.call("/cpro/factures/v1/consulter/fournisseur", {"identifiantFactureCPP": 1})
    assert unknown.code == Code.INVOICE_UNKNOWN
    assert status_of(emu, 1).code == Code.INVOICE_UNKNOWN


# -- structures -----------------------------------------------------------------------------------


def test_structures_are_found_by_siret(emu):
    body = {
        "structure": {
            "identifiantStructure": "21588139298698",
            "typeIdentifiantStructure": "SIRET",
        },
        "restreindreStructuresPrivees": False,
    }
    answer = emu.call("/cpro/structures/v1/rechercher", body)
    assert answer.data["listeStructures"] == [
        {
            "idStructureCPP": 26000100,
            "identifiantStructure": "21588139298698",
            "typeIdentifiantStructure": "SIRET",
            "designationStructure": "Commune de Saint-Aubin-sur-Loire",
            "statut": "ACTIVE",
        }
    ]
    inactive = emu.call(
        "/cpro/structures/v1/rechercher", {"structure": {"identifiantStructure": SIRET_INACTIVE}}
    )
    assert inactive.data["listeStructures"][0]["statut"] == "INACTIVE"
    none = emu.call(
        "/cpro/structures/v1/rechercher", {"structure": {"identifiantStructure": "00000000000000"}}
    )
    assert none.code == Code.EMPTY_RESULT
    public = emu.call(
        "/cpro/structures/v1/rechercher",
        {"structure": {"typeStructure": "PUBLIQUE"}, "parametres": {"nbResultatsParPage": 100}},
    )
    assert public.data["parametresRetour"]["total"] == 20


def test_structure_rules_are_consulted(emu):
    rules = emu.call("/cpro/structures/v1/consulter", {"idStructureCPP": 26000107}).data
    assert rules["parametres"]["statutMiseEnPaiementNestPasRemonte"] is True
    assert rules["informationGenerales"]["structurePriveePublique"] == "PUBLIQUE"
    strict = emu.call("/cpro/structures/v1/consulter", {"idStructureCPP": 26000108}).data
    assert strict["parametres"]["codeServiceDoitEtreRenseigne"] is True
    assert strict["parametres"]["numeroEJDoitEtreRenseigne"] is True
    own = emu.call("/cpro/structures/v1/consulter", {"idStructureCPP": SUPPLIER_ID}).data
    assert own["informationGenerales"]["dateExpirationMotPasseCompteTech"] == "2027-06-30"
    unknown = emu.call("/cpro/structures/v1/consulter", {"idStructureCPP": 1})
    assert unknown.code == Code.STRUCTURE_UNKNOWN


def test_b3_services_come_at_most_1000_a_page_whatever_is_asked():
    data = json.loads(DEFAULT_DIRECTORY_PATH.read_text())
    structure = data["public_structures"][0]
    structure["services"] = [
        {"idService": 31000000 + n, "codeService": f"S-{n:04d}", "libelleService": f"S {n}"}
        for n in range(1005)
    ]
    emu = Emu(EmulatorState(parse_directory(data), faults=Faults()))
    body = {
        "idStructure": structure["idStructureCPP"],
        "parametresRechercherServicesStructure": {"nbResultatsParPage": 5000},
    }

    answer = emu.call("/cpro/structures/v1/rechercher/services", body).data

    assert len(answer["listeServices"]) == 1000
    assert answer["parametresRetour"] == {
        "pageCourante": 1,
        "pages": 2,
        "nbResultatsParPage": 1000,
        "total": 1005,
    }


def test_services_are_listed_by_page_and_consulted(emu):
    path = "/cpro/structures/v1/rechercher/services"
    body = {
        "idStructure": 26000100,
        "parametresRechercherServicesStructure": {
            "nbResultatsParPage": 3,
            "pageResultatDemandee": 2,
        },
    }
    answer = emu.call(path, body).data
    assert [s["codeService"] for s in answer["listeServices"]] == ["ANCIEN-SVC"]
    assert answer["listeServices"][0]["estActif"] is False
    assert answer["parametresRetour"]["pages"] == 2
    service = emu.call(
        "/cpro/structures/v1/consulter/service", {"idStructure": 26000100, "idService": 30000002}
    ).data
    assert service["parametres"]["numeroEngagement"] is True
    assert service["informationsGenerales"]["codeService"] == "TECHNIQUE"
    missing = emu.call(
        "/cpro/structures/v1/consulter/service", {"idStructure": 26000100, "idService": 1}
    )
    assert missing.code == Code.SERVICE_UNKNOWN


def test_the_account_finds_its_supplier_structures_and_bank_details(emu):
    mine = emu.call("/cpro/transverses/v1/recuperer/structures/actives/fournisseur", {}).data
    assert [s["idStructureCPP"] for s in mine["listeStructures"]] == [SUPPLIER_ID]
    banks = emu.call(
        "/cpro/transverses/v1/recuperer/coordbanc/valides", {"idStructure": SUPPLIER_ID}
    ).data
    assert [b["idCoordonneeBancaire"] for b in banks["listeCoordonneeBancaire"]] == [
        45000001,
        45000002,
    ]
    # Exactly the real answers' fields, nothing the real API lacks (EVIDENCE.md § 3).
    assert mine["listeStructures"] == [
        {
            "idStructureCPP": SUPPLIER_ID,
            "identifiant": "80283822726464",
            "designationStructure": "Cabinet Dupont & Associés Courtage",
        }
    ]
    assert {frozenset(b) for b in banks["listeCoordonneeBancaire"]} == {
        frozenset({"idCoordonneeBancaire", "nomCoordonneeBancaire"})
    }
    other = emu.call("/cpro/transverses/v1/recuperer/coordbanc/valides", {"idStructure": 26000100})
    assert other.code == Code.STRUCTURE_NOT_OWNED


def test_the_vat_exemption_reasons_are_listed(emu):
    answer = emu.call("/cpro/transverses/v1/recuperer/motifs/exonerationtva", {"codeLangue": "FR"})
    reasons = answer.data["listeMotifsExonerationTva"]
    assert answer.code == 0 and len(reasons) >= 2
    assert all(r["codeMotifExonerationTva"] and r["libelleMotifExonerationTva"] for r in reasons)
    wrong = emu.call("/cpro/transverses/v1/recuperer/motifs/exonerationtva", {"langue": "FR"})
    assert (wrong.status, wrong.code) == (400, Code.INVALID_REQUEST)


TYPES_PATH = "/cpro/transverses/v1/recuperer/typespj"


def test_the_attachment_types_of_invoices_are_listed(emu):
    answer = emu.call(TYPES_PATH, {"codeLangue": "FR", "typeObjet": "FACTURE"})
    types = answer.data["listeTypePieceJointe"]
    assert answer.code == 0 and len(types) >= 2
    assert all(
        t["codeTypePieceJointe"] and t["libelleTypePieceJointe"] and t["typeObjet"] == "FACTURE"
        for t in types
    )
    assert "AUTRE" not in {t["codeTypePieceJointe"] for t in types}  # never proven
    assert emu.call(TYPES_PATH, {}).data["listeTypePieceJointe"] == types
    other = emu.call(TYPES_PATH, {"codeLangue": "FR", "typeObjet": "MEMOIRE"})
    assert other.code == Code.EMPTY_RESULT
    wrong = emu.call(TYPES_PATH, {"codeLangue": "FR", "typeObjet": "PIECE"})
    assert (wrong.status, wrong.code) == (400, Code.INVALID_REQUEST)


@pytest.mark.parametrize("kind", ["AUTRE", "aut", "", None, "X" * 500])
def test_a_secondary_attachment_type_outside_the_list_is_refused(emu, kind):
    item = {"pieceJointeComplementaireId": emu.attachment()}
    if kind is not None:
        item["pieceJointeComplementaireType"] = kind
    answer = emu.submit(invoice(emu, pieceJointeComplementaire=[item]))
    assert (answer.status, answer.code) == (200, Code.ATTACHMENT_TYPE_UNKNOWN), answer.data
    assert "liste des types de pièces jointes" in answer.data["libelle"]
    assert len(answer.data["libelle"]) < 300  # a forged value is not echoed whole
    assert not emu.state.invoices


def test_consulter_fournisseur_reports_the_type_each_attachment_was_sent_with(emu):
    first, second = emu.attachment(), emu.attachment()
    body = invoice(emu, pieceJointeComplementaire=[typed(first, "BDC"), typed(second)])
    identifier = accepted(emu, body)
    facture = emu.call(
        "/cpro/factures/v1/consulter/fournisseur", {"identifiantFactureCPP": identifier}
    ).data["facture"]
    pieces = {p["pieceJointeId"]: p for p in facture["listeDesPiecesJointes"]["pieceJointe"]}
    assert pieces[first]["pieceJointeTypeCode"] == "BDC"
    assert pieces[first]["pieceJointeTypeLibelle"] == ATTACHMENT_TYPE_LABELS["BDC"]
    assert pieces[second]["pieceJointeTypeCode"] == ATTACHMENT_TYPE


def test_the_health_check_is_a_get(emu):
    answer = emu.call("/cpro/transverses/v1/health-check", method="GET")
    assert (answer.status, answer.code) == (200, 0)


# -- control endpoints and faults -----------------------------------------------------------------


def test_stats_count_calls_per_operation(emu):
    emu.call("/cpro/transverses/v1/health-check", method="GET")
    emu.call("/cpro/transverses/v1/health-check", method="GET")
    accepted(emu, invoice(emu))
    stats = emu.control("stats", method="GET").data
    assert stats["calls"] == {
        "factures/soumettre": 1,
        "token": 1,
        "transverses/ajouter/fichier": 1,
        "transverses/health-check": 2,
    }
    assert stats["submissions"] == {"Q2026-0001": 1}
    assert stats["invoices"] == 1


def test_reset_forgets_everything_but_tokens(emu):
    accepted(emu, invoice(emu))
    emu.control("faults", {"error_rate": 1})
    assert emu.control("reset").status == 200
    assert not emu.state.invoices and not emu.state.attachments
    assert emu.control("stats", method="GET").data["calls"] == {}
    assert emu.control("faults", method="GET").data["error_rate"] == 0
    assert emu.call("/cpro/transverses/v1/health-check", method="GET").status == 200


def test_scripted_errors_hit_the_next_matching_calls_only(emu):
    emu.control(
        "faults",
        {
            "script": [
                {"kind": "error", "operation": "structures/consulter", "times": 2, "status": 503}
            ]
        },
    )
    path, body = "/cpro/structures/v1/consulter", {"idStructureCPP": 26000100}
    assert emu.call("/cpro/transverses/v1/health-check", method="GET").status == 200
    first = emu.call(path, body)
    assert (first.status, first.data["codeRetour"]) == (503, 503)
    assert first.headers["Retry-After"] == "1"
    assert emu.call(path, body).status == 503
    assert emu.call(path, body).status == 200


def test_throttling_answers_429_with_retry_after(emu):
    emu.control(
        "faults", {"throttle_rate": 1, "retry_after": 4, "operations": ["structures/consulter"]}
    )
    answer = emu.call("/cpro/structures/v1/consulter", {"idStructureCPP": 26000100})
    assert (answer.status, answer.headers["Retry-After"]) == (429, "4")
    assert emu.call("/cpro/transverses/v1/health-check", method="GET").status == 200


def test_a_share_of_calls_fail_with_500_or_503(emu):
    emu.control(
        "faults", {"error_rate": 0.5, "seed": 7, "operations": ["transverses/health-check"]}
    )
    statuses = [
        emu.call("/cpro/transverses/v1/health-check", method="GET").status for _ in range(200)
    ]
    failures = [s for s in statuses if s != 200]
    assert 60 < len(failures) < 140
    assert set(failures) == {500, 503}


def test_malformed_answers_still_process_the_call(emu):
    body = invoice(emu)
    emu.control("faults", {"script": [{"kind": "malformed", "operation": "factures/soumettre"}]})
    answer = emu.submit(body)
    assert answer.status == 200
    assert answer.data == '{"codeRetour": 0, "libelle": "GCU_MSG'
    assert len(emu.state.invoices) == 1


def test_token_expiry_can_be_forced(emu):
    token = emu.token()
    emu.control("faults", {"expire_tokens": True})
    assert emu.call("/cpro/transverses/v1/health-check", method="GET", token=token).status == 401
    emu._token = None
    assert emu.call("/cpro/transverses/v1/health-check", method="GET").status == 200
    assert emu.control("tokens/expire").data == {"expired": 1}


@pytest.mark.parametrize(
    "body",
    [
        {"error_rate": 2},
        {"unknown": 1},
        {"error_statuses": [404]},
        {"script": [{"kind": "explode"}]},
        {"script": [{"kind": "error", "status": 418}]},
        {"operations": "factures/soumettre"},
    ],
)
def test_invalid_fault_settings_are_refused(emu, body):
    answer = emu.control("faults", body)
    assert answer.status == 400
    assert answer.data["libelle"]


def test_the_clock_and_config_can_be_changed_at_run_time(emu):
    before = emu.control("clock", method="GET").data["now"]
    after = emu.control("clock/advance", {"days": 1, "hours": 2}).data["now"]
    assert after > before
    assert emu.control("clock/advance", {"weeks": 1}).status == 400
    config = emu.control("config", {"token_lifetime": 5, "speed": 60}).data
    assert config == {"token_lifetime": 5, "speed": 60.0, "refusal_http_status": 200}
    assert emu.get_token().data["expires_in"] == 5
    assert emu.control("config", {"token_lifetime": -1}).status == 400


def test_the_invoice_list_and_index_page_help_demonstrations(emu):
    accepted(emu, invoice(emu))
    rows = emu.control("invoices", method="GET").data["invoices"]
    assert [(r["numeroFacture"], r["statut"]) for r in rows] == [("Q2026-0001", "DEPOSEE")]
    index = emu.http.get("/")
    assert index.status_code == 200
    assert "Émulateur Chorus Pro" in index.get_data(as_text=True)
    assert emu.http.post("/_emulator/stats").status_code == 405


@pytest.mark.parametrize("http_status", [200, 400])
def test_business_refusals_answer_the_same_body_on_the_chosen_http_status(emu, http_status):
    assert emu.control("config", {"refusal_http_status": http_status}).status == 200

    refused = emu.call("/cpro/transverses/v1/recuperer/coordbanc/valides", {"idStructure": 1})
    empty = emu.call("/cpro/structures/v1/rechercher", {"structure": {"identifiantStructure": "1"}})
    rejected = emu.submit(invoice(emu, destinataire__codeDestinataire="00000000000000"))

    assert (refused.status, refused.code) == (http_status, Code.STRUCTURE_NOT_OWNED)
    assert (empty.status, empty.code) == (http_status, Code.EMPTY_RESULT)
    assert (rejected.status, rejected.code) == (http_status, Code.RECIPIENT_UNKNOWN)
    assert set(refused.data) == {"codeRetour", "libelle"}
    invalid = emu.submit({"numeroFactureSaisi": "X"})
    assert (invalid.status, invalid.code) == (400, Code.INVALID_REQUEST)  # validation: always 400
    ok = emu.call("/cpro/transverses/v1/recuperer/structures/actives/fournisseur", {})
    assert (ok.status, ok.code) == (200, 0)


@pytest.mark.parametrize("value", [201, "400", True, 400.0, None])
def test_the_refusal_status_accepts_only_200_or_400(emu, value):
    answer = emu.control("config", {"refusal_http_status": value})
    assert answer.status == 400
    assert emu.state.refusal_http_status == 200


def test_the_refusal_status_is_a_start_up_option_too():
    state = build_state(EmulatorOptions(speed=0, refusal_http_status=400))
    refused = Emu(state).call(
        "/cpro/transverses/v1/recuperer/coordbanc/valides", {"idStructure": 1}
    )
    assert (refused.status, refused.code) == (400, Code.STRUCTURE_NOT_OWNED)
