"""Serves the app with waitress (a pure-Python production WSGI server, no build step).

The dev server of Flask is single-purpose and says so; waitress runs a pool of worker threads,
each request with its own SQLite connection, so two raters at once never wait on each other
longer than one write.
"""
from __future__ import annotations

import ipaddress
import threading

from waitress import create_server
from waitress import wasyncore


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Server:
    """One listening server; `run()` blocks, `start()` runs it in a thread, `stop()` ends either."""

    def __init__(self, app, host: str, port: int, threads: int = 8):
        # "localhost" may resolve to two addresses (two listening sockets); one is enough.
        host = "127.0.0.1" if host == "localhost" else host
        # No proxy headers are trusted: the guess limit keys on the real peer address.
        self._server = create_server(app, host=host, port=port, threads=threads, ident="carelora",
                                     clear_untrusted_proxy_headers=True)
        if not hasattr(self._server, "effective_port"):
            wasyncore.close_all(self._server.map)
            raise ValueError(f"rate.host={host!r} resolves to several addresses; give one IP address")
        self.host = host
        self.port = int(self._server.effective_port)
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def run(self) -> None:
        """Serves until stop() or Ctrl-C; in-flight requests finish (their ratings commit) first."""
        try:
            while not self._stopping.is_set() and self._server._map:
                wasyncore.loop(timeout=0.5, map=self._server._map, count=1)
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            # Sockets close in the loop's own thread: closing them under a select() in another
            # thread makes it fail with EBADF.
            self._server.task_dispatcher.shutdown()
            wasyncore.close_all(self._server._map)

    def start(self) -> "Server":
        self._thread = threading.Thread(target=self.run, name="carelora-rate-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._server.pull_trigger()  # wakes the select() now rather than at its timeout
            self._thread.join(timeout=10)
