"""An HTTP server answering from a thread of its own: the local API and the frontend server are both one."""

import threading
from http.server import ThreadingHTTPServer


class BackgroundServer:
    def __init__(self, server: ThreadingHTTPServer, name: str) -> None:
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
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
