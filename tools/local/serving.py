"""An HTTP server answering from a thread of its own: the local API and the frontend server are both one."""

import socket
import threading
import time
from http.server import ThreadingHTTPServer
from typing import Any

# Connections the kernel holds until the server accepts them. socketserver's default, 5, lost connections
# to a burst (16 at once: 1 request in 500 to 2,000 reset; 180 at once: 128 to 148 lost). Linux caps it
# at net.core.somaxconn (4096 by default).
LISTEN_BACKLOG = 1024
# How long a closing connection keeps reading what the client still sends (see `shutdown_request`).
LINGER_SECONDS = 2.0


class LocalHttpServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that holds a burst of connections, and whose answers arrive even when refusing.

    A request refused before it was read in full (a body over the limit, oversized headers) leaves bytes
    unread. Closing a socket with unread bytes resets the connection, and a client still sending never sees
    the answer (a broken pipe instead of a 413). So a closing connection first says it is done (FIN), then
    reads and discards what still comes, until the client closes or for `LINGER_SECONDS`, as web servers'
    lingering close does.
    """

    request_queue_size = LISTEN_BACKLOG

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._connections = 0  # accepted and not yet closed: each is answered on a thread of its own
        self._changed = threading.Condition()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._changed:  # counted before its thread starts, so a shutdown right after still sees it
            self._connections += 1
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._closed()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._closed()

    def wait_until_answered(self, timeout: float) -> bool:
        """Wait until every accepted connection has been answered and closed; False if `timeout` came first."""
        with self._changed:
            return self._changed.wait_for(lambda: self._connections == 0, timeout)

    def _closed(self) -> None:
        with self._changed:
            self._connections -= 1
            self._changed.notify_all()

    def shutdown_request(self, request: Any) -> None:
        try:
            request.shutdown(socket.SHUT_WR)
            _drain(request, LINGER_SECONDS)
        except OSError:  # the client is gone already
            pass
        self.close_request(request)


def _drain(connection: socket.socket, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        connection.settimeout(left)
        if not connection.recv(65536):
            return


class BackgroundServer:
    def __init__(self, server: LocalHttpServer, name: str) -> None:
        self._server = server
        # A 0.1 s poll, so that stop() returns promptly.
        self._thread = threading.Thread(target=server.serve_forever, args=(0.1,), name=name, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Accept no more connections; those accepted are still answered (see `wait_until_answered`)."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def wait_until_answered(self, timeout: float) -> bool:
        return self._server.wait_until_answered(timeout)
