"""The embedded AWS: moto's server in this process, and boto3 sessions that talk to it.

In-process rather than a separate `moto_server`, so that the outbox can read what SES sent straight from
moto's backend and nothing outlives the local stack.
"""

import json
import logging
import socket
import threading
from dataclasses import dataclass, field
from typing import Any

import boto3
from moto.server import ThreadedMotoServer
from moto.ses.models import ses_backends
from moto.sesv2.responses import SESV2Response

from tools.moto_dynamodb import apply_requests_atomically
from tools.provision import ACCOUNT_ID

REGION = "us-east-1"
# moto accepts any credentials; fixed fake ones keep real credentials out of reach of local code.
ACCESS_KEY_ID = "testing"
SECRET_ACCESS_KEY = "testing"  # noqa: S105 (not a secret)


class PortInUse(OSError):
    def __init__(self, what: str, host: str, port: int, option: str) -> None:
        super().__init__(f"{what}: port {port} on {host} is in use. Stop whatever uses it, or pass {option} PORT.")


class EndpointSession(boto3.Session):
    """A boto3 Session whose clients and resources all go to one endpoint (the embedded AWS)."""

    def __init__(self, endpoint_url: str, region: str) -> None:
        super().__init__(aws_access_key_id=ACCESS_KEY_ID, aws_secret_access_key=SECRET_ACCESS_KEY, region_name=region)
        self.endpoint_url = endpoint_url

    def client(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("endpoint_url", self.endpoint_url)
        return super().client(*args, **kwargs)

    def resource(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("endpoint_url", self.endpoint_url)
        return super().resource(*args, **kwargs)


class EmbeddedAws:
    """moto's server on `host:port` (0: any free port) in a thread of this process."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1", region: str = REGION) -> None:
        self.host = host
        self.region = region
        self._requested_port = port
        self._server: ThreadedMotoServer | None = None
        self._port: int | None = None

    def start(self) -> None:
        # moto's server binds in its own thread and never reports a failure to bind: check first.
        _check_port_free(self.host, self._requested_port)
        record_send_email_requests()
        # moto's server is threaded; concurrent DynamoDB requests must not undo each other (see the module).
        apply_requests_atomically()
        # werkzeug logs every request; the local stack prints what matters in its own words.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = ThreadedMotoServer(ip_address=self.host, port=self._requested_port, verbose=False)
        self._server.start()
        self._port = self._server.get_host_and_port()[1]

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    @property
    def endpoint_url(self) -> str:
        if self._port is None:
            raise RuntimeError("the embedded AWS is not started")
        return f"http://{self.host}:{self._port}"

    @property
    def account_id(self) -> str:
        return ACCOUNT_ID

    def session(self) -> EndpointSession:
        return EndpointSession(self.endpoint_url, self.region)

    def client(self, service: str) -> Any:
        return self.session().client(service)

    def sent_emails(self) -> list[Any]:
        """What SES has sent so far, as moto records it (in this process: no API lists sent emails).

        `send_email_request` has what moto leaves out of an SES v2 email.
        """
        sent: list[Any] = ses_backends[self.account_id][self.region].sent_messages
        return sent

    @staticmethod
    def send_email_request(message_id: str) -> "SendEmailRequest | None":
        """What the SES v2 SendEmail request that SES answered with `message_id` carried; None if not one."""
        with _requests_lock:
            return _send_email_requests.get(message_id)

    def client_environment(self) -> dict[str, str]:
        """What a process needs in its environment for any AWS SDK to use the embedded AWS."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
        }


# --- What moto's SES v2 leaves out ---------------------------------------------------------------------


@dataclass(frozen=True)
class SendEmailRequest:
    """What an SES v2 SendEmail request carried that moto does not keep.

    moto (5.2.5) keeps one body of Simple content, the HTML part (the text part only when there is no HTML),
    and drops EmailTags.
    """

    text: str | None = None
    html: str | None = None
    tags: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> "SendEmailRequest":
        body = params.get("Content", {}).get("Simple", {}).get("Body", {})
        return cls(
            text=body.get("Text", {}).get("Data"),
            html=body.get("Html", {}).get("Data"),
            tags={tag["Name"]: tag["Value"] for tag in params.get("EmailTags") or []},
        )


_send_email_requests: dict[str, SendEmailRequest] = {}  # by the MessageId moto answered with
_requests_lock = threading.Lock()
_recording = False


def record_send_email_requests() -> None:
    """From now on, keep what each SES v2 SendEmail request carried (in this process; once is enough).

    The one place that reaches into moto: its SendEmail handler, wrapped. A request moto refuses (an
    unverified sender) raises before anything is kept, as SES sends nothing then.
    """
    global _recording
    with _requests_lock:
        if _recording:
            return
        send_email = SESV2Response.send_email

        def recording_send_email(response: SESV2Response) -> str:
            request = SendEmailRequest.from_params(json.loads(response.body))
            # Locked from before moto lists the email as sent until its request is kept, so that whoever
            # finds the email in the list (the outbox, polling) and asks for its request gets it.
            with _requests_lock:
                answer = send_email(response)
                _send_email_requests[json.loads(answer)["MessageId"]] = request
            return answer

        SESV2Response.send_email = recording_send_email  # type: ignore[method-assign,assignment]
        _recording = True


def _check_port_free(host: str, port: int) -> None:
    if port == 0:
        return
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as werkzeug binds
        try:
            probe.bind((host, port))
        except OSError:
            raise PortInUse("embedded AWS", host, port, "--aws-port") from None
