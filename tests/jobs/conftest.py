"""Fixtures of the job tests: the emulator and Chorus settings of the sending tests."""

from tests.sending.conftest import (  # noqa: F401  (fixtures used by name)
    chorus,
    chorus_admin,
    chorus_emulator,
    chorus_emulator_server,
)
