"""``python -m portal.chorus.emulator --host 127.0.0.1 --port 8081`` (see README.md)."""

from __future__ import annotations

import argparse
import sys

from portal.chorus.emulator.directory import DirectoryError, load_directory
from portal.chorus.emulator.server import EmulatorOptions, build_state, create_server
from portal.chorus.emulator.state import (
    DEFAULT_SPEED,
    DEFAULT_TOKEN_LIFETIME,
    REFUSAL_HTTP_STATUSES,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    default = load_directory()
    client = default.oauth_clients[0] if default.oauth_clients else None
    supplier = default.suppliers[0] if default.suppliers else None
    parser = argparse.ArgumentParser(
        prog="python -m portal.chorus.emulator",
        description="Émulateur local de l'API Chorus Pro (démonstrations, tests, mesures).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="adresse d'écoute (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8081, help="port d'écoute (8081)")
    parser.add_argument(
        "--client-id",
        help=f"client ID PISTE accepté (défaut : {client.client_id if client else '—'})",
    )
    parser.add_argument(
        "--client-secret",
        help=f"secret PISTE accepté (défaut : {client.client_secret if client else '—'})",
    )
    parser.add_argument(
        "--login",
        help=f"login du compte technique accepté (défaut : {supplier.login if supplier else '—'})",
    )
    parser.add_argument(
        "--password",
        help="mot de passe du compte technique accepté "
        f"(défaut : {supplier.password if supplier else '—'})",
    )
    parser.add_argument(
        "--directory", help="annuaire JSON des structures (défaut : annuaire intégré)"
    )
    parser.add_argument(
        "--latency-ms", type=int, default=0, help="latence ajoutée à chaque appel (0)"
    )
    parser.add_argument(
        "--token-lifetime",
        type=int,
        default=DEFAULT_TOKEN_LIFETIME,
        help=f"durée de vie des jetons en secondes ({DEFAULT_TOKEN_LIFETIME})",
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=DEFAULT_SPEED,
        help="secondes simulées par seconde réelle pour l'avancement des factures "
        f"({DEFAULT_SPEED:g} : une journée par minute ; 0 : horloge arrêtée)",
    )
    parser.add_argument("--seed", type=int, help="graine des pannes aléatoires")
    parser.add_argument(
        "--refusal-http-status",
        type=int,
        choices=REFUSAL_HTTP_STATUSES,
        default=200,
        help="statut HTTP des refus métier (codeRetour non nul) : 200 (défaut) ou 400",
    )
    parser.add_argument("--quiet", action="store_true", help="ne pas journaliser chaque requête")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    options = EmulatorOptions(
        directory=args.directory,
        client_id=args.client_id,
        client_secret=args.client_secret,
        login=args.login,
        password=args.password,
        token_lifetime=args.token_lifetime,
        speed=args.speed,
        latency_ms=args.latency_ms,
        seed=args.seed,
        refusal_http_status=args.refusal_http_status,
    )
    try:
        state = build_state(options)
    except DirectoryError as error:
        print(f"Erreur : {error}", file=sys.stderr)
        return 2
    server = create_server(args.host, args.port, state, quiet=args.quiet)
    print(
        f"Émulateur Chorus Pro sur http://{args.host}:{server.server_port} "
        f"({len(state.directory.public_structures)} structures publiques, "
        f"{len(state.directory.suppliers)} fournisseur(s)). Ctrl+C pour arrêter.",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        state.wake.set()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
