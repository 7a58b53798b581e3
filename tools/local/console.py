"""What the local stack tells you: one readable line per request, batch and email, from any thread."""

import sys
import threading
from pathlib import Path
from typing import TextIO

# Wide enough for every topic, so that the lines of the API, the queue and the outbox line up.
TOPIC_WIDTH = 6


class Console:
    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stdout
        # Reentrant: a line printed while printing (a signal, an error in a callback) must not deadlock.
        self._lock = threading.RLock()

    def line(self, topic: str, text: str) -> None:
        """`api    POST /purchase -> 202 PurchaseFunction 38 ms`."""
        self.print(f"{topic:<{TOPIC_WIDTH}} {text}")

    def print(self, text: str = "") -> None:
        # Flushed per line: tests and `make dev | tee` read the output as it happens.
        with self._lock:
            print(text, file=self._stream, flush=True)


def brief(text: str, limit: int = 120) -> str:
    """The first line of `text`, cut at `limit`: enough to recognise an error by, on one console line."""
    first = text.strip().partition("\n")[0]
    return first if len(first) <= limit else first[: limit - 3] + "..."


def display_path(path: Path) -> str:
    """`path` relative to the working directory when it is under it (shorter, and what you would type)."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def mask_email(address: str) -> str:
    """`ada@example.com` -> `a***@example.com`, as the functions log (and the ledger shows) addresses."""
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}***@{domain}"
