"""B8 refusal playbook: every known failure with a plain-French explanation and the fix.

ONE table (``PLAYBOOK``) covers:
- the portal's own pre-send reasons (codes of ``rules.py``) and job codes;
- Chorus Pro ``codeRetour`` values (the real API's documented ones and the emulator's own,
  ``portal/chorus/emulator/codes.py``) and ``libelle`` patterns, because the real codes of
  most business refusals are not published (API notes, ``[?]``);
- HTTP-level failures: authentication, unavailability, unknown outcome, HTTP statuses (the
  ``code`` of every Chorus failure, ``portal/chorus/errors.py``, is one of these);
- the statuses a sent invoice may come back with (``REJETEE``, ``SUSPENDUE``, ``A_RECYCLER``).

``explain(code, message)`` looks the table up: a specific code first, then a ``libelle``
pattern, then a generic code (400, 500, 20001…), else a fallback that repeats the raw code
and message. Patterns are written lower-case without accents; messages are normalized the
same way before matching.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass

from portal.chorus.limits import NUMBER_RULE


class Kind(enum.StrEnum):
    """Who said no — decides the report's *Résultat* of a failed item."""

    PORTAL = "portal"  # our own checks, before anything was sent
    CHORUS = "chorus"  # Chorus Pro refused the request (fix the data, then resend)
    TECHNICAL = "technical"  # nothing wrong with the document: settings, network, outage
    STATUS = "status"  # a status of an invoice already in Chorus Pro (B1)


@dataclass(frozen=True)
class Explanation:
    explanation: str
    fix: str
    kind: Kind = Kind.CHORUS

    @property
    def is_refusal(self) -> bool:
        """True when the document itself was refused (as opposed to a technical failure)."""
        return self.kind is not Kind.TECHNICAL


@dataclass(frozen=True)
class Entry:
    codes: tuple[str, ...]
    explanation: str
    fix: str
    kind: Kind = Kind.CHORUS
    patterns: tuple[str, ...] = ()
    # A generic code (e.g. HTTP 400) says little: a matching libellé pattern wins over it.
    generic: bool = False


def _entry(
    codes: str | tuple[str, ...],
    explanation: str,
    fix: str,
    kind: Kind = Kind.CHORUS,
    *,
    patterns: tuple[str, ...] = (),
    generic: bool = False,
) -> Entry:
    codes = (codes,) if isinstance(codes, str) else codes
    return Entry(codes, explanation, fix, kind, patterns, generic)


P, C, T, S = Kind.PORTAL, Kind.CHORUS, Kind.TECHNICAL, Kind.STATUS

SERVICE_FIX = (
    "Choisissez sur le contrat un code service actif de la structure destinataire (liste "
    "« Services » du contrat, actualisée depuis Chorus Pro), puis renvoyez."
)
ENGAGEMENT_FIX = (
    "Demandez le numéro d'engagement (bon de commande) au client public et renseignez-le sur "
    "le contrat, puis renvoyez."
)
CONNECTION_FIX = (
    "Un administrateur vérifie les paramètres Chorus Pro (onglet Système) avec « Tester la "
    "connexion », puis relance l'envoi."
)
RETRY_FIX = "Relancez l'envoi plus tard : le document est de nouveau dématérialisable."

# fmt: off
PLAYBOOK: tuple[Entry, ...] = (
    # -- the portal's own checks (rules.py), before anything is sent ----------------------------
    _entry("S1_DISABLED", "La dématérialisation Chorus Pro est désactivée.",
           "Un administrateur l'active dans Paramètres › Assurances.", P),
    _entry("S2_NO_VAT_EXEMPTION_CODE", "Aucun motif d'exonération de TVA n'est choisi : Chorus "
           "Pro l'exige pour les primes d'assurance et les factures sans TVA.",
           "Un administrateur choisit le motif dans la liste de Chorus Pro (Paramètres › Système, "
           "« Choisir parmi les motifs de Chorus Pro »), puis renvoyez.", P),
    _entry("S9_NO_CONTRACT", "La facture d'honoraires n'est rattachée à aucun contrat : Chorus "
           "Pro a besoin du code service porté par un contrat.",
           "Rattachez la facture au contrat du client public.", P),
    _entry("S9_CONTRACT_NOT_CHORUS", "Chorus Pro n'est pas activé sur le contrat.",
           "Cochez « Activer Chorus Pro ? » sur le contrat et renseignez le code service.", P),
    _entry("S9_CLIENT_NOT_COMPANY", "Seuls les clients de type Entreprise (structures "
           "publiques) peuvent recevoir une facture dans Chorus Pro.",
           "Vérifiez le type du client ; un particulier ne passe pas par Chorus Pro.", P),
    _entry("S9_NO_SIRET", "Le client n'a pas de SIRET : c'est l'identifiant du destinataire "
           "dans Chorus Pro.", "Renseignez le SIRET (14 chiffres) sur la fiche client.", P),
    _entry("S9_NO_SERVICE_CODE", "Le contrat n'a pas de code service (service exécutant du "
           "destinataire).", "Renseignez le code service sur le contrat.", P),
    _entry("S9_NO_DUE_NOTICE", "L'avis d'échéance (PDF) de la quittance n'existe pas : c'est la "
           "pièce principale envoyée à Chorus Pro.",
           "Générez ou déposez l'avis d'échéance de la quittance, puis renvoyez.", P),
    _entry("S9_NO_INVOICE_PDF", "Le PDF de la facture d'honoraires n'existe pas : c'est la pièce "
           "principale envoyée à Chorus Pro.",
           "Générez ou déposez le PDF de la facture, puis renvoyez.", P),
    _entry("S9_IN_PROGRESS", "Une dématérialisation de ce document est déjà en cours.",
           "Attendez la fin de l'envoi en cours (notification) ; rien n'est envoyé deux fois.", P),
    _entry("S9_ALREADY_SENT", "Le document est déjà dans Chorus Pro (il a un N° Chorus).",
           "Rien à faire : suivez son statut sur la fiche du document.", P),
    _entry("S9_CORRUPTED", "Le document est marqué corrompu (montants ou PDF incohérents).",
           "Corrigez le document (montants, PDF) pour lever l'anomalie, puis renvoyez.", P),
    _entry("S9_NUMBER_INVALID", "Chorus Pro n'accepterait pas le numéro du document (trop long "
           "ou avec des caractères qu'il refuse).",
           f"Modifiez le numéro du document ({NUMBER_RULE}), puis renvoyez.", P),
    _entry("B3_NOT_CHECKED", "Le destinataire n'a pas encore été vérifié dans Chorus Pro.",
           "Rien à faire : la vérification a lieu automatiquement avant l'envoi.", P),
    _entry("B3_SERVICE_NOT_CHECKED", "L'exigence de numéro d'engagement du service du contrat "
           "n'a pas encore été consultée dans Chorus Pro.",
           "Rien à faire : le service est consulté automatiquement avant l'envoi.", P),
    _entry("B3_STRUCTURE_NOT_FOUND", "Aucune structure publique de Chorus Pro ne porte le SIRET "
           "du client.", "Vérifiez le SIRET du client (celui de l'entité publique qui paie) et "
           "actualisez la vérification du destinataire.", P),
    _entry("B3_STRUCTURE_INACTIVE", "La structure destinataire est inactive dans Chorus Pro.",
           "Demandez au client public le SIRET de la structure qui la remplace et mettez à jour "
           "la fiche client.", P),
    _entry("B3_SERVICE_UNKNOWN", "Le code service du contrat n'existe pas chez ce destinataire.",
           SERVICE_FIX, P),
    _entry("B3_SERVICE_INACTIVE", "Le service du contrat est inactif chez ce destinataire.",
           SERVICE_FIX, P),
    _entry("B3_SERVICE_PUBLIC_TO_PUBLIC", "Le service FACTURES_PUBLIQUES est réservé aux "
           "factures entre entités publiques ; un courtier ne peut pas l'utiliser.",
           SERVICE_FIX, P),
    _entry("B3_SERVICE_CODE_REQUIRED", "Code service obligatoire pour cette structure.",
           "Renseignez le code service sur le contrat.", P),
    _entry("B3_ENGAGEMENT_REQUIRED", "Numéro d'engagement obligatoire pour cette structure.",
           ENGAGEMENT_FIX, P),
    _entry("B3_SERVICE_ENGAGEMENT_REQUIRED", "Numéro d'engagement obligatoire pour ce service "
           "du destinataire.", ENGAGEMENT_FIX, P),
    _entry("B3_ENGAGEMENT_OR_SERVICE_REQUIRED", "Cette structure exige un code service ou un "
           "numéro d'engagement.", "Renseignez l'un des deux sur le contrat.", P),

    # -- codes of the sending job ---------------------------------------------------------------
    _entry("DOCUMENT_SUPPRIME", "Le document a été supprimé pendant l'envoi.",
           "Rien à faire, ou recréez le document s'il doit être envoyé.", T),
    _entry("DONNEES_INCOMPLETES", "La facture n'a pas pu être préparée : une donnée obligatoire "
           "manque (montants, identifiant fournisseur, compte bancaire…).",
           "Complétez la donnée indiquée dans le message, puis renvoyez.", P),
    _entry("ERREUR_INTERNE", "Erreur interne du portail pendant l'envoi.",
           "Relancez l'envoi ; si l'erreur revient, signalez-la à l'assistance du portail.", T),

    # -- HTTP-level failures --------------------------------------------------------------------
    _entry(("INDISPONIBLE", "429", "500", "502", "503", "504"),
           "Chorus Pro était indisponible ou saturé (panne, maintenance, trop de requêtes) ; la "
           "facture n'a pas été déposée.", RETRY_FIX, T,
           patterns=(r"indisponible", r"injoignable", r"delai de reponse")),
    _entry(("AUTHENTIFICATION", "401"),
           "Chorus Pro a refusé l'authentification : identifiants PISTE ou compte technique "
           "incorrects, ou mot de passe du compte technique expiré (tous les 424 jours).",
           "Un administrateur met à jour le mot de passe du compte technique et les identifiants "
           "PISTE (Paramètres › Système), teste la connexion, puis relance l'envoi.", T,
           patterns=(r"authentifi", r"invalid_client", r"mot de passe.*expir")),
    _entry("403", "Chorus Pro refuse l'accès : l'application PISTE n'est pas "
           "abonnée à l'API Chorus Pro, ou le compte technique n'a pas de droit sur la structure "
           "fournisseur.", "Un administrateur vérifie l'abonnement de l'application PISTE à "
           "l'API Chorus Pro et le rattachement du compte technique à la structure fournisseur.",
           T),
    _entry("CONFIGURATION", "Les paramètres de connexion à Chorus "
           "Pro sont incomplets : rien n'a été envoyé.", CONNECTION_FIX, T),
    _entry("ISSUE_INCONNUE", "La réponse de Chorus Pro a été perdue (délai dépassé ou coupure) "
           "et la facture n'a pas été retrouvée dans Chorus Pro lors du rapprochement.",
           "Le document est de nouveau dématérialisable : relancez l'envoi (aucun doublon, la "
           "facture n'étant pas dans Chorus Pro).", T),
    _entry("ERREUR_CHORUS", "Échange avec Chorus Pro en échec.", RETRY_FIX, T),
    _entry(("404", "405"), "Chorus Pro ne reconnaît pas l'adresse "
           "appelée (environnement ou URL de l'API incorrects).",
           "Un administrateur vérifie l'environnement et l'URL de l'API dans Paramètres › "
           "Système.", T),
    _entry("415", "Chorus Pro a refusé le format de la requête.",
           "Signalez-le à l'assistance du portail (erreur de format d'échange).", T),
    _entry("413", "La requête envoyée à Chorus Pro est trop volumineuse (pièces "
           "jointes trop lourdes).", "Allégez ou retirez des pièces jointes secondaires (10 Mo "
           "par fichier, 120 Mo au total), puis renvoyez."),
    _entry(("400", "REFUS"), "Chorus Pro a refusé une donnée de la facture.",
           "Lisez le message de Chorus Pro pour la donnée en cause, corrigez-la sur le contrat ou "
           "le document, puis renvoyez.", generic=True),

    # -- Chorus Pro codeRetour (documented + the emulator's own) --------------------------------
    _entry("20001", "Chorus Pro a jugé un paramètre de la requête invalide.",
           "Lisez le message de Chorus Pro pour le champ en cause, corrigez-le sur le contrat ou "
           "le document, puis renvoyez.", generic=True),
    _entry("20002", "Une pièce jointe est vide ou illisible.",
           "Remplacez le fichier (avis d'échéance, facture ou document de la GED), puis renvoyez.",
           patterns=(r"fichier est vide", r"base ?64")),
    _entry("20003", "Une pièce jointe dépasse 10 Mo.",
           "Compressez le fichier ou retirez-le des pièces jointes secondaires, puis renvoyez.",
           patterns=(r"taille du fichier", r"10 ?mo")),
    _entry("20004", "Le nom d'une pièce jointe dépasse 50 caractères.",
           "Renommez le document dans la GED (50 caractères au plus, extension comprise).",
           patterns=(r"nom du fichier",)),
    _entry("20005", "Le format d'une pièce jointe n'est pas accepté par Chorus Pro.",
           "Convertissez le fichier dans un format accepté (PDF de préférence), puis renvoyez.",
           patterns=(r"format du fichier", r"extension")),
    _entry("20101", "Le destinataire (SIRET du client) est inconnu de Chorus Pro.",
           "Vérifiez le SIRET du client : ce doit être celui de la structure publique qui paie.",
           patterns=(r"destinataire.*(inconnu|introuvable|n'existe pas)",)),
    _entry("20102", "Le destinataire n'est pas actif dans Chorus Pro.",
           "Demandez au client public le SIRET de la structure active qui le remplace.",
           patterns=(r"destinataire.*(inactif|n'est pas actif)",)),
    _entry("20103", "Le destinataire n'est pas une structure publique : Chorus Pro ne sert qu'aux "
           "factures adressées au secteur public.",
           "Vérifiez le SIRET du client ; un client privé ne passe pas par Chorus Pro.",
           patterns=(r"pas une structure publique",)),
    _entry("20104", "Code service obligatoire pour cette structure.",
           "Renseignez-le sur le contrat (choisi parmi les services actifs du destinataire), puis "
           "renvoyez.", patterns=(r"code service.*obligatoire",)),
    _entry("20105", "Numéro d'engagement obligatoire pour cette structure.", ENGAGEMENT_FIX,
           patterns=(r"engagement.*obligatoire.*destinataire",)),
    _entry("20106", "Cette structure exige un code service ou un numéro d'engagement.",
           "Renseignez l'un des deux sur le contrat, puis renvoyez.",
           patterns=(r"engagement ou le code service", r"code service ou .*engagement")),
    _entry("20107", "Le code service du contrat est inconnu chez ce destinataire.", SERVICE_FIX,
           patterns=(r"service executant.*inconnu", r"code service.*inconnu")),
    _entry("20108", "Le service du contrat est inactif chez ce destinataire.", SERVICE_FIX,
           patterns=(r"service executant.*(inactif|n'est pas actif)",)),
    _entry("20109", "Le service FACTURES_PUBLIQUES est réservé aux factures entre entités "
           "publiques.", SERVICE_FIX, patterns=(r"factures_publiques",)),
    _entry("20110", "Numéro d'engagement obligatoire pour ce service du destinataire.",
           ENGAGEMENT_FIX, patterns=(r"engagement.*obligatoire.*service",)),
    _entry("20111", "L'identifiant fournisseur ne correspond pas au compte technique utilisé.",
           "Un administrateur récupère l'identifiant fournisseur depuis Chorus Pro (Paramètres "
           "› Système, bouton de recherche), puis relance l'envoi.",
           patterns=(r"fournisseur n'est pas rattache",)),
    _entry("20112", "Le code du service du fournisseur (compte bancaire de la société) est "
           "inconnu de Chorus Pro.", "Corrigez ou videz « Code du service du fournisseur » sur "
           "le compte bancaire de la société, puis renvoyez.",
           patterns=(r"service du fournisseur",)),
    _entry("20113", "Le code du compte bancaire fournisseur n'est pas valide pour ce "
           "fournisseur.", "Récupérez les codes valides depuis Chorus Pro sur le compte bancaire "
           "de la société (bouton de recherche), puis renvoyez.",
           patterns=(r"coordonnees bancaires",)),
    _entry("20114", "Une pièce jointe déposée est introuvable dans Chorus Pro.",
           "Renvoyez le document : les pièces jointes seront déposées à nouveau.",
           patterns=(r"piece jointe est introuvable",)),
    _entry("20115", "Les pièces jointes dépassent ensemble 120 Mo.",
           "Retirez des pièces jointes secondaires, puis renvoyez.",
           patterns=(r"taille totale",)),
    _entry("20116", "Les montants de la facture sont incohérents (TTC ≠ HT + TVA).",
           "Corrigez les montants du document, puis renvoyez.", patterns=(r"montant",)),
    _entry("20117", "Ce numéro de facture a déjà été déposé dans Chorus Pro par ce fournisseur.",
           "Vérifiez dans Chorus Pro si la facture y est déjà (rapprochement) ; sinon émettez un "
           "document sous un nouveau numéro.",
           patterns=(r"deja (ete )?utilise", r"doublon", r"deja (ete )?(depose|existe)")),
    _entry("20130", "Le numéro du document ne respecte pas le format que Chorus Pro accepte.",
           f"Modifiez le numéro du document ({NUMBER_RULE}), puis renvoyez.",
           patterns=(r"numero de facture ne respecte pas",)),
    _entry("20131", "Un avoir ne doit pas porter de mode de paiement.",
           "Le portail n'en envoie pas pour un avoir : si l'erreur persiste, transmettez-la "
           "à l'assistance du portail.", patterns=(r"avoir ne porte pas de mode de paiement",)),
    _entry("20132", "Seul un avoir peut référencer une facture d'origine.",
           "Retirez le lien vers le document d'origine, ou faites du document un avoir (total "
           "négatif), puis renvoyez.", patterns=(r"facture d'origine est reservee aux avoirs",)),
    _entry("20118", "La pièce jointe principale (avis d'échéance ou facture) manque.",
           "Vérifiez que le PDF du document existe, puis renvoyez.",
           patterns=(r"piece jointe principale",)),
    _entry("20120", "Le motif d'exonération de TVA envoyé n'est pas un code de la liste de "
           "Chorus Pro.", "Un administrateur choisit un motif dans la liste de Chorus Pro "
           "(Paramètres › Système, « Choisir parmi les motifs de Chorus Pro »), puis renvoyez.",
           patterns=(r"motif d'exoneration de tva n'est pas",)),
    _entry("20121", "Le type d'une pièce jointe complémentaire n'est pas un code de la liste "
           "de Chorus Pro.", "Choisissez pour chaque pièce jointe un type de la liste de Chorus "
           "Pro sur l'écran d'envoi (un administrateur peut relire la liste et changer le type "
           "par défaut dans Paramètres › Système), puis renvoyez.",
           patterns=(r"type de la piece jointe complementaire",)),
    _entry("20119", "Le motif d'exonération de TVA manque.",
           "Un administrateur renseigne le motif d'exonération de TVA (Paramètres › Système).",
           patterns=(r"exoneration",)),
    _entry("20201", "La structure demandée est inconnue de Chorus Pro.",
           "Vérifiez le SIRET ou l'identifiant de structure saisi.",
           patterns=(r"structure est inconnue",)),
    _entry("20202", "La facture est introuvable dans Chorus Pro pour ce fournisseur.",
           "Vérifiez le N° Chorus ; si la facture n'a jamais été déposée, renvoyez le document.",
           patterns=(r"facture est introuvable",)),
    _entry("20203", "La structure n'est pas rattachée au compte technique utilisé.",
           "Un administrateur rattache le compte technique à la structure dans Chorus Pro.",
           patterns=(r"structure n'est pas rattachee",)),
    _entry("20000", "Chorus Pro n'a trouvé aucun résultat.",
           "Vérifiez l'identifiant recherché.", patterns=(r"aucun resultat",)),

    # -- statuses of an invoice already in Chorus Pro (B1) --------------------------------------
    _entry("REJETEE", "Le destinataire a rejeté la facture (statut final).",
           "Lisez son commentaire, puis émettez un nouveau document sous un nouveau numéro "
           "(menu Actions du document, « Réémettre sous un nouveau numéro ») et corrigez-le si "
           "besoin : une facture rejetée ne peut pas être renvoyée.", S),
    _entry("SUSPENDUE", "Le destinataire a suspendu la facture : il manque une pièce ou une "
           "information.", "Lisez son commentaire et complétez la facture dans Chorus Pro "
           "(action « compléter ») ; elle repassera au statut COMPLETEE.", S),
    _entry("A_RECYCLER", "Les données d'acheminement sont erronées (destinataire, code service "
           "ou numéro d'engagement).", "Corrigez le code service ou le numéro d'engagement sur "
           "le contrat, puis recyclez la facture dans Chorus Pro (action « recycler »).", S),
)
# fmt: on

_BY_CODE: dict[str, Entry] = {code.upper(): entry for entry in PLAYBOOK for code in entry.codes}
_HTTP_PREFIX = re.compile(r"^HTTP[ _-]?(\d{3})$", re.IGNORECASE)


def _normalize(text: str) -> str:
    """Lower case, no accents, typographic apostrophes made plain: for pattern matching."""
    decomposed = unicodedata.normalize("NFKD", text.replace("’", "'"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def _code_key(code: str) -> str:
    cleaned = code.strip().upper()
    match = _HTTP_PREFIX.match(cleaned)
    return match.group(1) if match else cleaned


def _by_pattern(message: str | None) -> Entry | None:
    if not message:
        return None
    text = _normalize(message)
    for entry in PLAYBOOK:
        if any(re.search(pattern, text) for pattern in entry.patterns):
            return entry
    return None


def _lookup(code: str | None, message: str | None) -> Entry | None:
    entry = _BY_CODE.get(_code_key(code)) if code else None
    if entry is not None and not entry.generic:
        return entry
    return _by_pattern(message) or entry


def _fallback(code: str | None, message: str | None) -> Explanation:
    raw = " : ".join(part for part in (f"code {code}" if code else "", message or "") if part)
    explanation = "Erreur non répertoriée" + (f" ({raw})." if raw else ".")
    numeric = bool(code) and _code_key(code or "").isdigit()
    return Explanation(
        explanation,
        "Vérifiez les données du document et du contrat, puis renvoyez ; si l'erreur persiste, "
        "transmettez ce code et ce message à l'assistance Chorus Pro.",
        Kind.CHORUS if numeric else Kind.TECHNICAL,
    )


def explain(code: str | int | None, message: str | None = None) -> Explanation:
    """The plain-French explanation and fix of a failure (B8).

    ``code`` is a reason code of ``rules.py``, a job code, a Chorus ``codeRetour``, an HTTP
    status (``"401"`` or ``"HTTP_401"``) or an invoice status; several codes may be joined by
    commas. ``message`` is the raw Chorus ``libelle`` or French error message.
    """
    text = str(code).strip() if code is not None else ""
    codes = [part.strip() for part in text.split(",") if part.strip()]
    if len(codes) > 1:
        parts = [explain(part, message) for part in codes]
        return Explanation(
            " ".join(dict.fromkeys(p.explanation for p in parts)),
            " ".join(dict.fromkeys(p.fix for p in parts)),
            next((p.kind for p in parts if p.kind is not Kind.TECHNICAL), parts[0].kind),
        )
    entry = _lookup(codes[0] if codes else None, message)
    if entry is None:
        return _fallback(codes[0] if codes else None, message)
    return Explanation(entry.explanation, entry.fix, entry.kind)
