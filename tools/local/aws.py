"""The embedded AWS: moto's server in this process, and boto3 sessions that talk to it.

In-process rather than a separate `moto_server`, so that the outbox can read what SES sent straight from
moto's backend and nothing outlives the local stack.
"""

import logging
import socket
from typing import Any

import boto3
from moto.server import ThreadedMotoServer
from moto.ses.models import ses_backends

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
        """What SES has sent so far, as moto records it (in this process: no API lists sent emails)."""
        sent: list[Any] = ses_backends[self.account_id][self.region].sent_messages
        return sent

    def client_environment(self) -> dict[str, str]:
        """What a process needs in its environment for any AWS SDK to use the embedded AWS."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
        }


def _check_port_free(host: str, port: int) -> None:
    if port == 0:
        return
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as werkzeug binds
        try:
            probe.bind((host, port))
        except OSError:
            raise PortInUse("embedded AWS", host, port, "--aws-port") from None
