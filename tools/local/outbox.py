"""The outbox: every email the embedded SES sends, as an .eml file that any mail program opens.

SES only records what was sent (moto keeps it in memory); this turns each into a real message, named after
the ticket it confirms, so you can read the confirmation the buyer would get.
"""

import os
import re
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from tools.local.aws import SendEmailRequest
from tools.local.console import Console, display_path, mask_email

POLL_SECONDS = 0.2
# The tag the worker puts on each confirmation (functions/worker/worker/confirmation.py).
TICKET_TAG = "ticketId"
# What SES accepts as a tag value; anything else cannot name a file either.
_TAG_VALUE = re.compile(r"[A-Za-z0-9_-]{1,256}")
_HTML = re.compile(r"<(!doctype|html|body|p|div|br|table)\b", re.IGNORECASE)


@dataclass(frozen=True)
class SentEmail:
    """An email as SES recorded it, with what its SendEmail request carried when that is known."""

    message_id: str
    source: str
    to: list[str]
    cc: list[str] = field(default_factory=list)
    subject: str = ""
    body: str = ""  # moto's one body of Simple content: the HTML part, or the text part if there is no HTML
    raw: str | None = None  # sent as Raw content: the whole MIME message
    # From the request (SendEmailRequest); unknown for an email sent otherwise (SES v1).
    text: str | None = None
    html: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_moto(cls, message: Any, request: SendEmailRequest | None = None) -> "SentEmail":
        request = request or SendEmailRequest()
        if hasattr(message, "raw_data"):
            return cls(message.id, message.source, list(message.destinations), raw=message.raw_data, tags=request.tags)
        destinations = message.destinations or {}
        return cls(
            message_id=message.id,
            source=message.source,
            to=list(destinations.get("ToAddresses", [])),
            cc=list(destinations.get("CcAddresses", [])),
            subject=message.subject,
            body=message.body,
            text=request.text,
            html=request.html,
            tags=request.tags,
        )

    @property
    def ticket_id(self) -> str | None:
        """The ticket this email is about, as its `ticketId` tag says: never guessed from the text.

        (A UUID in the text may be the buyer's: a name can hold one.)
        """
        tag = self.tags.get(TICKET_TAG)
        return tag if tag and _TAG_VALUE.fullmatch(tag) else None


def to_eml(sent: SentEmail, sent_at: datetime) -> bytes:
    if sent.raw is not None:
        return sent.raw.encode()
    message = EmailMessage()
    message["From"] = sent.source
    message["To"] = ", ".join(sent.to)
    if sent.cc:
        message["Cc"] = ", ".join(sent.cc)
    message["Subject"] = sent.subject
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = f"<{sent.message_id}@email.amazonses.com>"  # SES's form of it
    text, html = sent.text, sent.html
    if text is None and html is None:  # the request is unknown: moto's one body is all there is
        html, text = (sent.body, html_to_text(sent.body)) if _HTML.search(sent.body) else (None, sent.body)
        # (A text part derived from the HTML stands in for the one moto did not keep.)
    if text is not None:
        message.set_content(text)
    if html is not None:
        if text is not None:
            message.add_alternative(html, subtype="html")
        else:
            message.set_content(html, subtype="html")
    return message.as_bytes()


def file_name(sent: SentEmail, sent_at: datetime) -> str:
    """`20261123T180102Z-<ticket id>.eml`: sorted by time, found by ticket."""
    return f"{sent_at:%Y%m%dT%H%M%SZ}-{sent.ticket_id or sent.message_id}.eml"


def html_to_text(html: str) -> str:
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    text = re.sub(r" *\n *", "\n", "".join(parser.parts))
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


class _TextExtractor(HTMLParser):
    _PARAGRAPHS = frozenset({"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "tr", "li"})
    _INVISIBLE = frozenset({"head", "style", "script"})

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._INVISIBLE:
            self._hidden += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in self._PARAGRAPHS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._INVISIBLE:
            self._hidden = max(0, self._hidden - 1)
        elif tag in self._PARAGRAPHS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(re.sub(r"\s+", " ", data))


class Outbox:
    """Writes each email SES sends into `directory`, within a fraction of a second, from a thread of its own."""

    def __init__(
        self,
        directory: Path,
        sent_emails: Callable[[], Sequence[Any]],
        console: Console,
        requests: Callable[[str], SendEmailRequest | None] | None = None,
    ) -> None:
        """`sent_emails`: moto's list of sent emails; `requests`: what the request behind each carried, by id."""
        self.directory = directory
        self._sent_emails = sent_emails
        self._requests = requests or (lambda _message_id: None)
        self._console = console
        self._written = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="outbox", daemon=True)

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()
        self.collect()  # what was sent just before stopping is written too

    def collect(self) -> list[Path]:
        """Write the emails sent since the last call; returns their files."""
        with self._lock:
            new = list(self._sent_emails()[self._written :])
            self._written += len(new)
            return [self._write(SentEmail.from_moto(message, self._requests(message.id))) for message in new]

    def _watch(self) -> None:
        while not self._stopping.wait(POLL_SECONDS):
            self.collect()

    def _write(self, sent: SentEmail) -> Path:
        sent_at = datetime.now(UTC)
        path = _publish(self.directory, file_name(sent, sent_at), to_eml(sent, sent_at))
        recipients = ", ".join(mask_email(address) for address in sent.to + sent.cc)
        ticket = f"  ticket {sent.ticket_id}" if sent.ticket_id else ""
        self._console.line("email", f'{recipients}{ticket}  "{sent.subject}"  -> {display_path(path)}')
        return path


def _publish(directory: Path, name: str, content: bytes) -> Path:
    """Write `content` as `name` in `directory`, whole or not at all, never over another file.

    Whole: a mail program (or a test) watching the folder never opens a half-written email. Never over
    another: the same ticket twice in a second is a redelivery worth seeing, and `make invoke` may share
    the folder with `make dev`.
    """
    directory.mkdir(parents=True, exist_ok=True)
    draft = directory / f".{uuid.uuid4()}.part"
    draft.write_bytes(content)
    try:
        candidate, copy = name, 1
        while True:
            try:
                os.link(draft, directory / candidate)  # fails, rather than replaces, if the name is taken
                return directory / candidate
            except FileExistsError:
                copy += 1
                candidate = f"{name.removesuffix('.eml')}-{copy}.eml"
    finally:
        draft.unlink()
