"""Fixtures of the Chorus tests (the emulator ones are reusable: see emulator_fixtures.py)."""

from tests.chorus.emulator_fixtures import (  # noqa: F401  (pytest fixtures, used by name)
    chorus_emulator,
    chorus_emulator_server,
)
