"""The frontend as CloudFront serves it: the files of frontend/, under FrontendSecurityHeaders' policy.

Under the same Content-Security-Policy as on CloudFront (plus the local API in connect-src), a page that
would break in production breaks here first. /.well-known/settings.json tells the pages where the API is,
as the file `make publish-frontend` uploads does on AWS.
"""

import json
import sys
from collections.abc import Mapping
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from tools.local.console import Console
from tools.local.serving import BackgroundServer, LocalHttpServer
from tools.provision import LocalResources
from tools.sam_template import ROOT, SamTemplate

FRONTEND_DIR = ROOT / "frontend"
SETTINGS_PATH = "/.well-known/settings.json"
SECURITY_HEADERS_POLICY = "FrontendSecurityHeaders"
# The types the files are served with on CloudFront; a module must be JavaScript, an icon image/svg+xml.
MEDIA_TYPES = {
    ".css": "text/css",
    ".html": "text/html",
    ".js": "text/javascript",
    ".json": "application/json",
    ".mjs": "text/javascript",
    ".svg": "image/svg+xml",
    ".webmanifest": "application/manifest+json",
}


def settings(api_url: str) -> dict[str, str]:
    return {"apiBaseUrl": api_url}


def security_headers(template: SamTemplate, resources: LocalResources, api_origin: str) -> dict[str, str]:
    """The headers of the template's response headers policy, with `api_origin` allowed in connect-src."""
    policy = template.resources[SECURITY_HEADERS_POLICY]["Properties"]["ResponseHeadersPolicyConfig"]
    config = policy.get("SecurityHeadersConfig", {})
    headers = {}
    if csp := config.get("ContentSecurityPolicy"):
        text = " ".join(str(resources.resolve(csp["ContentSecurityPolicy"])).split())
        headers["Content-Security-Policy"] = allow_connect_to(text, api_origin)
    if "ContentTypeOptions" in config:
        headers["X-Content-Type-Options"] = "nosniff"
    if frame := config.get("FrameOptions"):
        headers["X-Frame-Options"] = frame["FrameOption"]
    if referrer := config.get("ReferrerPolicy"):
        headers["Referrer-Policy"] = referrer["ReferrerPolicy"]
    # StrictTransportSecurity is left out: browsers ignore it over plain HTTP, as this server speaks.
    return headers


def allow_connect_to(csp: str, origin: str) -> str:
    """`csp` with `origin` added to connect-src (which is created if the policy has none)."""
    directives = [directive.strip() for directive in csp.split(";") if directive.strip()]
    for index, directive in enumerate(directives):
        if directive.split()[0].lower() == "connect-src":
            directives[index] = f"{directive} {origin}"
            break
    else:
        directives.append(f"connect-src 'self' {origin}")
    return "; ".join(directives)


class FrontendServer(BackgroundServer):
    """frontend/ on http://host:port (port 0: any free port)."""

    def __init__(
        self,
        api_url: str,
        headers: Mapping[str, str],
        console: Console,
        root: Path = FRONTEND_DIR,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        server = _FrontendHttpServer((host, port), root.resolve(), settings(api_url), headers, console)
        super().__init__(server, name="frontend")


class _FrontendHttpServer(LocalHttpServer):
    def __init__(
        self,
        address: tuple[str, int],
        root: Path,
        settings: dict[str, str],
        headers: Mapping[str, str],
        console: Console,
    ) -> None:
        super().__init__(address, _FrontendRequestHandler)
        self.root = root
        self.settings = settings
        self.response_headers = dict(headers)
        self.console = console

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exception(), ConnectionError):  # a reload mid-download is not worth a traceback
            super().handle_error(request, client_address)


class _FrontendRequestHandler(SimpleHTTPRequestHandler):
    server: _FrontendHttpServer
    server_version = "local-frontend"
    sys_version = ""

    def __init__(self, request: Any, client_address: Any, server: _FrontendHttpServer) -> None:
        super().__init__(request, client_address, server, directory=str(server.root))

    def do_GET(self) -> None:
        if self._refused():
            return
        if self._path() == SETTINGS_PATH:
            self._send_settings(include_body=True)
        else:
            super().do_GET()

    def do_HEAD(self) -> None:
        if self._refused():
            return
        if self._path() == SETTINGS_PATH:
            self._send_settings(include_body=False)
        else:
            super().do_HEAD()

    def guess_type(self, path: Any) -> str:
        return MEDIA_TYPES.get(Path(path).suffix.lower()) or super().guess_type(path)

    def list_directory(self, path: Any) -> None:
        self.send_error(HTTPStatus.NOT_FOUND)  # S3 behind CloudFront lists nothing either

    def end_headers(self) -> None:
        for name, value in self.server.response_headers.items():
            self.send_header(name, value)
        if self._path() != SETTINGS_PATH:
            self.send_header("Cache-Control", "no-cache")  # an edited file shows on the next reload
        super().end_headers()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if isinstance(code, int) and code >= HTTPStatus.BAD_REQUEST:
            self.server.console.line("web", f"{self.command} {self._path()} -> {code}")

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: only failed requests are worth a line (`log_request`)."""

    def _path(self) -> str:
        return urlsplit(self.path).path

    def _refused(self) -> bool:
        """Refuse what could reach outside frontend/: `..` in the path, or a link that leads out of it."""
        if ".." in unquote(self._path()).split("/"):
            self.send_error(HTTPStatus.BAD_REQUEST, "Path traversal")
            return True
        if not Path(self.translate_path(self.path)).resolve().is_relative_to(self.server.root):
            self.send_error(HTTPStatus.NOT_FOUND)
            return True
        return False

    def _send_settings(self, include_body: bool) -> None:
        body = json.dumps(self.server.settings).encode()
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-store")  # ports change between runs
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if include_body:
            self.wfile.write(body)
