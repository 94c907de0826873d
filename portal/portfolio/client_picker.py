"""The client select of the contract and fee-invoice forms, searchable.

A broker has thousands of clients: the select offers the first ones by name (and the client
already chosen), and a search box above it narrows the select to the clients whose name,
city or SIRET contains what is typed (``portfolio.client_options`` answers it with HTMX).
"""

from __future__ import annotations

from dataclasses import dataclass

from portal.formatting import fr_number
from portal.portfolio import queries
from portal.portfolio.models import Client

LIMIT = 50  # clients offered at once


@dataclass(frozen=True)
class ClientOptions:
    """The options of the select: ``(value, label)``, the placeholder first."""

    options: list[tuple[int | str, str]]
    selected: int | None


def client_options(search: str | None = None, selected: int | None = None) -> ClientOptions:
    """What the select offers for ``search`` while ``selected`` is chosen.

    The first clients matching the search by name (all clients without one). The chosen
    client stays chosen while it matches, offered first if it is not among them; otherwise
    a lone match is chosen, or the placeholder invites a choice.
    """
    text = (search or "").strip()[:100]
    clients, matching = queries.client_choices(text, LIMIT)
    offered = list(clients)
    chosen = queries.client_if_matching(selected, text) if selected is not None else None
    if chosen is None:
        selected = offered[0].id if text and matching == 1 else None
    elif chosen not in offered:
        offered.insert(0, chosen)
    return ClientOptions(
        [("", _placeholder(text, matching)), *((c.id, _label(c)) for c in offered)], selected
    )


def _placeholder(search: str, matching: int) -> str:
    if search and not matching:
        return f"Aucun client ne correspond à « {search} »"
    if matching > LIMIT:
        return (
            f"Choisissez un client ({LIMIT} premiers sur {fr_number(matching, 0)} : "
            "précisez la recherche)…"
        )
    if search and matching == 1:
        return "Un client trouvé :"
    if search:
        return f"Choisissez parmi les {matching} clients trouvés…"
    return "Choisissez un client…"


def _label(client: Client) -> str:
    return f"{client.name} ({client.city})" if client.city else client.name
