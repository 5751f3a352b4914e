"""The simulator served from a background thread of another process (the demo).

``hoso population serve`` runs the simulator as its own process. The demo (``hoso demo
load`` and ``hoso demo run``) needs it beside other work: :class:`BackgroundServer` runs
:func:`hoso.popsim.api.create_app` in a uvicorn server on a daemon thread, bound before
it starts (port 0 picks a free loopback port), and stops it on :meth:`~BackgroundServer.stop`
or at the end of a ``with`` block. Access logs stay off: URLs carry personal IDs.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any

from hoso.config import Settings, get_settings
from hoso.popsim.api import Faults, create_app


class BackgroundServer:
    """The simulator's API on ``host:port`` in a thread of this process.

    The socket is bound in the constructor, so a port already taken raises ``OSError``
    there. ``settings`` give the database, the client keys, the rate and (unless
    ``faults`` is given) the injected faults.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        settings: Settings | None = None,
        faults: Faults | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self.faults = faults
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if port:  # a fixed port is reusable at once after a restart (as uvicorn binds)
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.socket.bind((host, port))
        except OSError:
            self.socket.close()
            raise
        self.host = host
        self.port: int = self.socket.getsockname()[1]
        self.url = f"http://{host}:{self.port}"
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 30.0) -> BackgroundServer:
        """Serve in a daemon thread; return once the server accepts connections."""
        import uvicorn

        app = create_app(self.settings, faults=self.faults)
        config = uvicorn.Config(
            app, log_level="warning", access_log=False, timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self.socket]},
            name="hoso-popsim",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"Máy chủ mô phỏng CSDL dân cư không khởi động được tại {self.url}"
                    f" / the registry simulator did not start at {self.url}"
                )
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Stop serving (waits for the thread) and release the socket."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = self._thread = None
        self.socket.close()

    def __enter__(self) -> BackgroundServer:
        return self.start() if self._server is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
