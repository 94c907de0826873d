#!/usr/bin/env python3
"""The two README commands, using only the standard library until the virtualenv exists.

python3 dev.py demo   set up, build the database with demo data, start the Chorus Pro
                      emulator, the portal and its scheduler; print the URL and logins
python3 dev.py test   set up and run the whole test suite (SQLite, then PostgreSQL)
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
PY = BIN / "python"
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CHROMIUM = Path("/usr/bin/chromium")
DEMO_USERS = (("admin", "admin"), ("gestionnaire", "gestionnaire"), ("lecture", "lecture"))
DEMO_PASSWORD = "demo-courtier-2026"


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def run(*args: str | Path, env: dict[str, str] | None = None, check: bool = True) -> int:
    return subprocess.run([str(a) for a in args], cwd=ROOT, env=env, check=check).returncode


def ensure_venv(extras: str) -> None:
    """Create .venv and install the project; skipped when pyproject.toml has not changed."""
    if not PY.exists():
        say("création de l'environnement virtuel .venv")
        venv.EnvBuilder(with_pip=True).create(VENV)
    stamp = VENV / f".installed-{extras or 'base'}"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return
    say("installation des dépendances (pip)")
    run(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    target = f".[{extras}]" if extras else "."
    run(PY, "-m", "pip", "install", "--quiet", "-e", target)
    stamp.write_text(digest)


def flask(*args: str, env: dict[str, str]) -> int:
    return run(BIN / "flask", "--app", "portal", *args, env=env)


def port_is_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def wait_for_port(host: str, port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if port_is_open(host, port):
            return
        time.sleep(0.2)
    raise SystemExit(f"le service {host}:{port} n'a pas démarré")


def demo(args: argparse.Namespace) -> int:
    ensure_venv("")
    env = dict(os.environ)
    env.setdefault("CHORUS_EMULATOR_URL", f"http://127.0.0.1:{args.emulator_port}")
    say("création / mise à jour du schéma de la base (SQLite, instance/portal.db)")
    flask("db", "upgrade", env=env)
    if run(BIN / "flask", "--app", "portal", "seed-demo", "--if-empty", env=env, check=False):
        return 1
    processes: list[subprocess.Popen[bytes]] = []

    def stop(*_: object) -> None:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=10)
        sys.exit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    say(f"démarrage de l'émulateur Chorus Pro sur le port {args.emulator_port}")
    processes.append(
        subprocess.Popen(
            [
                PY,
                "-m",
                "portal.chorus.emulator",
                "--host",
                "127.0.0.1",
                "--port",
                str(args.emulator_port),
            ],
            cwd=ROOT,
            env=env,
        )
    )
    wait_for_port("127.0.0.1", args.emulator_port)
    say(f"démarrage du portail (gunicorn) et de son planificateur sur le port {args.port}")
    portal_env = dict(env, SCHEDULER_ENABLED="1")
    processes.append(
        subprocess.Popen(
            [
                BIN / "gunicorn",
                "--workers",
                "1",
                "--threads",
                "8",
                "--bind",
                f"{args.host}:{args.port}",
                "wsgi:app",
            ],
            cwd=ROOT,
            env=portal_env,
        )
    )
    wait_for_port("127.0.0.1" if args.host == "0.0.0.0" else args.host, args.port)  # noqa: S104  (only compares)
    print()
    print(f"  Portail : http://{args.host}:{args.port}/")
    for username, role in DEMO_USERS:
        print(
            f"  Connexion {role:<13} identifiant « {username} », mot de passe « {DEMO_PASSWORD} »"
        )
    emulator = f"http://127.0.0.1:{args.emulator_port}"
    print(f"  Émulateur Chorus Pro : {emulator}/ (statistiques : {emulator}/_emulator/stats)")
    print("  Ctrl+C pour arrêter.")
    print(flush=True)
    while all(process.poll() is None for process in processes):
        time.sleep(1)
    stop()
    return 1


def ensure_chromium() -> bool:
    """Browser tests drive the system Chromium; install it with apt when possible."""
    if CHROMIUM.exists():
        return True
    if os.geteuid() == 0 and shutil.which("apt-get"):
        say("installation de Chromium (apt) pour les tests navigateur")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        run("apt-get", "update", "-qq", env=env, check=False)
        run("apt-get", "install", "-y", "-qq", "chromium", env=env, check=False)
    return CHROMIUM.exists()


def test(args: argparse.Namespace) -> int:
    ensure_venv("dev")
    env = dict(os.environ)
    if not ensure_chromium():
        say("Chromium introuvable : les tests navigateur seront ignorés (SKIP_BROWSER_TESTS=1)")
        env["SKIP_BROWSER_TESTS"] = "1"
    say("lint (ruff)")
    if run(BIN / "ruff", "check", "portal", "tests", "bench", "wsgi.py", "dev.py", check=False):
        say("échec du lint (ruff) : corrigez les erreurs ci-dessus")
        return 1
    say("types (mypy)")
    if run(BIN / "mypy", check=False):
        say("échec du contrôle de types (mypy) : corrigez les erreurs ci-dessus")
        return 1
    pytest = [
        PY,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-n",
        str(args.workers),
        *args.pytest_args,
    ]
    say("tests sur SQLite")
    sqlite_env = {k: v for k, v in env.items() if k != "TEST_DATABASE_URL"}
    code = run(*pytest, env=sqlite_env, check=False)
    if code:
        return code
    if port_is_open("127.0.0.1", 5432):
        say("tests sur PostgreSQL")
        return run(*pytest, env=dict(env, TEST_DATABASE_URL=POSTGRES_URL), check=False)
    if os.environ.get("CI"):
        say("PostgreSQL injoignable sur 127.0.0.1:5432 : échec en CI")
        return 1
    say("PostgreSQL injoignable sur 127.0.0.1:5432 : passage PostgreSQL ignoré")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo_parser = commands.add_parser(
        "demo", help="installer et lancer le portail de démonstration"
    )
    demo_parser.add_argument("--host", default="127.0.0.1")
    demo_parser.add_argument("--port", type=int, default=5000)
    demo_parser.add_argument("--emulator-port", type=int, default=8081)
    test_parser = commands.add_parser("test", help="installer et lancer toute la suite de tests")
    test_parser.add_argument("--workers", type=int, default=2)
    test_parser.add_argument("pytest_args", nargs="*")
    args = parser.parse_args()
    return demo(args) if args.command == "demo" else test(args)


if __name__ == "__main__":
    sys.exit(main())
