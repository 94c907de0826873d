"""Serve the emulator: standalone (``__main__``) or in a background thread for tests.

The request handler turns :class:`~portal.chorus.emulator.app.DropConnection` into a real
TCP reset (``SO_LINGER`` 0), which is how connection resets and read timeouts are
simulated; it also keeps the request log quiet unless asked.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from portal.chorus.emulator.app import DropConnection, EmulatorApp
from portal.chorus.emulator.directory import Directory, load_directory
from portal.chorus.emulator.faults import Faults, FaultSettings
from portal.chorus.emulator.state import DEFAULT_SPEED, DEFAULT_TOKEN_LIFETIME, EmulatorState


class EmulatorRequestHandler(WSGIRequestHandler):
    """Werkzeug's handler, plus abrupt connection drops and an optional quiet log."""

    quiet = False

    def connection_dropped(
        self, error: BaseException, environ: dict[str, Any] | None = None
    ) -> None:
        if isinstance(error, DropConnection):
            with contextlib.suppress(OSError):
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
            self.close_connection = True

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if not self.quiet:
            super().log_request(code, size)


class _QuietHandler(EmulatorRequestHandler):
    quiet = True


@dataclass
class EmulatorOptions:
    """Start-up settings (the command-line options)."""

    directory: Path | str | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    login: str | None = None
    password: str | None = field(default=None, repr=False)
    token_lifetime: int = DEFAULT_TOKEN_LIFETIME
    speed: float = DEFAULT_SPEED
    latency_ms: int = 0
    seed: int | None = None
    refusal_http_status: int = 200


def build_state(options: EmulatorOptions | None = None) -> EmulatorState:
    """A fresh emulator state from start-up options."""
    options = options or EmulatorOptions()
    directory: Directory = load_directory(options.directory).with_credentials(
        client_id=options.client_id,
        client_secret=options.client_secret,
        login=options.login,
        password=options.password,
    )
    faults = Faults(FaultSettings(latency_ms=options.latency_ms), seed=options.seed)
    return EmulatorState(
        directory,
        token_lifetime=options.token_lifetime,
        speed=options.speed,
        faults=faults,
        refusal_http_status=options.refusal_http_status,
    )


# Wraps the emulator's WSGI app, e.g. a test's conformance proxy recording every request.
Middleware = Callable[[EmulatorApp], Any]


def create_server(
    host: str,
    port: int,
    state: EmulatorState,
    *,
    quiet: bool = False,
    middleware: Middleware | None = None,
) -> BaseWSGIServer:
    """A threaded WSGI server for ``state`` (port 0: any free port)."""
    handler = _QuietHandler if quiet else EmulatorRequestHandler
    app = EmulatorApp(state)
    served = middleware(app) if middleware is not None else app
    return make_server(host, port, served, threaded=True, request_handler=handler)


@dataclass
class RunningEmulator:
    """An emulator served from a background thread."""

    base_url: str
    state: EmulatorState
    stop: Callable[[], None]


def run_in_thread(
    options: EmulatorOptions | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    middleware: Middleware | None = None,
) -> RunningEmulator:
    """Start the emulator on a free local port; ``stop()`` shuts it down."""
    state = build_state(options)
    server = create_server(host, port, state, quiet=True, middleware=middleware)
    thread = threading.Thread(target=server.serve_forever, name="chorus-emulator", daemon=True)
    thread.start()

    def stop() -> None:
        state.wake.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return RunningEmulator(f"http://{host}:{server.server_port}", state, stop)
