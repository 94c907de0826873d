"""State changes made from the dematerialization screens (the view commits)."""

from __future__ import annotations

from portal.dematerialization import recipients, rules
from portal.extensions import db
from portal.portfolio.models import Contract
from portal.validators import ValidationFailed


def use_recipient_service(contract: Contract, code: str) -> str:
    """B3 « Utiliser ce service »: set the contract's service code to an active service.

    Only a service of the cached structure that may be invoiced is accepted. Flushes.
    """
    wanted = rules.clean(code)
    structure = recipients.cached(contract.client.siret)
    if structure is None or not structure.is_found:
        raise ValidationFailed(
            "Le destinataire n'a pas encore été vérifié dans Chorus Pro : "
            "cliquez sur « Vérifier dans Chorus Pro »."
        )
    service = next((s for s in structure.active_services if s.code == wanted), None)
    if service is None:
        raise ValidationFailed(
            f"Le service « {wanted} » n'est pas un service actif de la structure destinataire."
        )
    contract.chorus_service_code = service.code
    db.session.flush()
    return service.code
