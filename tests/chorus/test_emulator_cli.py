"""``python -m portal.chorus.emulator``: options, defaults, directory file."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from portal.chorus.emulator.directory import (
    DEFAULT_DIRECTORY_PATH,
    DirectoryError,
    load_directory,
    parse_directory,
)

ROOT = Path(__file__).resolve().parents[2]


def run_module(*args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "portal.chorus.emulator", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def started() -> Iterator[object]:
    processes: list[subprocess.Popen[str]] = []

    def start(*args: str) -> str:
        process = subprocess.Popen(
            [sys.executable, "-m", "portal.chorus.emulator", "--port", "0", "--quiet", *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        processes.append(process)
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"http://[\d.]+:\d+", line)
        assert match, line + (process.stderr.read() if process.stderr else "")
        return match.group(0)

    yield start
    for process in processes:
        process.terminate()
        process.communicate(timeout=10)


def test_help_lists_every_option_with_the_demo_defaults():
    result = run_module("--help")
    assert result.returncode == 0
    for option in (
        "--host",
        "--port",
        "--client-id",
        "--client-secret",
        "--login",
        "--password",
        "--directory",
        "--latency-ms",
        "--token-lifetime",
        "--speed",
        "--refusal-http-status",
    ):
        assert option in result.stdout
    assert "demo-client" in result.stdout
    assert "TECH_1_80283822726464@cpro.fr" in result.stdout


def test_it_serves_the_api_with_the_credentials_given_on_the_command_line(started):
    base = started("--client-id", "mon-appli", "--client-secret", "mon-secret", "--speed", "0")
    form = {"grant_type": "client_credentials", "scope": "openid"}
    refused = requests.post(
        f"{base}/api/oauth/token",
        data={**form, "client_id": "demo-client", "client_secret": "demo-secret"},
        timeout=5,
    )
    assert refused.status_code == 401
    accepted = requests.post(
        f"{base}/api/oauth/token",
        data={**form, "client_id": "mon-appli", "client_secret": "mon-secret"},
        timeout=5,
    )
    assert accepted.status_code == 200
    assert requests.get(f"{base}/_emulator/stats", timeout=5).json()["calls"]["token"] == 2


def test_a_custom_directory_file_is_used(started, tmp_path):
    data = json.loads(DEFAULT_DIRECTORY_PATH.read_text(encoding="utf-8"))
    data["public_structures"] = data["public_structures"][:1]
    path = tmp_path / "annuaire.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    base = started("--directory", str(path), "--login", "TECH_X@cpro.fr", "--password", "pw")
    token = requests.post(
        f"{base}/api/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "demo-client",
            "client_secret": "demo-secret",
        },
        timeout=5,
    ).json()["access_token"]
    headers = {
        "Authorization": f"Bearer {token}",
        "cpro-account": base64.b64encode(b"TECH_X@cpro.fr:pw").decode(),
        "Content-Type": "application/json",
    }
    answer = requests.post(
        f"{base}/cpro/structures/v1/rechercher",
        json={"structure": {"typeStructure": "PUBLIQUE"}},
        headers=headers,
        timeout=5,
    ).json()
    assert answer["parametresRetour"]["total"] == 1


def test_an_invalid_directory_stops_with_a_french_error(tmp_path):
    path = tmp_path / "faux.json"
    path.write_text('{"public_structures": [{"siret": "1"}]}', encoding="utf-8")
    result = run_module("--directory", str(path), "--port", "0")
    assert result.returncode == 2
    assert "idStructureCPP" in result.stderr
    assert "manquant" in result.stderr


# -- directory format -----------------------------------------------------------------------------


def test_the_default_directory_matches_the_demo_data():
    directory = load_directory()
    assert len(directory.public_structures) == 20
    scenarios = {s.scenario for s in directory.public_structures}
    assert scenarios == {"paid", "mandated_only", "rejected", "suspended", "recycle"}
    assert all(s.service_by_code("FACTURES_PUBLIQUES") for s in directory.public_structures)
    [supplier] = directory.suppliers
    assert (supplier.id_structure_cpp, supplier.login) == (
        25000001,
        "TECH_1_80283822726464@cpro.fr",
    )
    assert directory.client_secret("demo-client") == "demo-secret"
    assert "demo-Chorus" not in repr(supplier)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "objet JSON"),
        ({"public_structures": {}}, "liste"),
        (
            {
                "public_structures": [
                    {"idStructureCPP": 1, "siret": "1", "designation": "x", "scenario": "x"}
                ]
            },
            "scenario",
        ),
        (
            {
                "public_structures": [
                    {"idStructureCPP": 1, "siret": "1", "designation": "x", "statut": "FERMEE"}
                ]
            },
            "statut",
        ),
        (
            {
                "public_structures": [
                    {"idStructureCPP": 1, "siret": "1", "designation": "x"},
                    {"idStructureCPP": 1, "siret": "2", "designation": "y"},
                ]
            },
            "même idStructureCPP",
        ),
        ({"oauth_clients": [{"client_id": "x"}]}, "client_secret"),
    ],
)
def test_directory_errors_name_the_culprit(data, message):
    with pytest.raises(DirectoryError, match=message):
        parse_directory(data)


def test_an_unreadable_directory_file_is_reported(tmp_path):
    with pytest.raises(DirectoryError, match="illisible"):
        load_directory(tmp_path / "absent.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    with pytest.raises(DirectoryError, match="JSON invalide"):
        load_directory(broken)


def test_start_up_options_do_not_show_the_secrets():
    from portal.chorus.emulator.server import EmulatorOptions

    text = repr(EmulatorOptions(client_secret="s3cret", password="pa55"))
    assert "s3cret" not in text
    assert "pa55" not in text
