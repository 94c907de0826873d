"""Chorus Pro emulator: same API as the real one, offline (see README.md in this folder).

Run it with ``python -m portal.chorus.emulator``; tests start it in a thread with
:func:`portal.chorus.emulator.server.run_in_thread`.
"""
