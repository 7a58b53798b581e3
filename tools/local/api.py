"""The HTTP API, as API Gateway's HTTP API runs it: the template's routes, payload format 2.0 and CORS.

Requests become the events the functions get on AWS (the shape of events/gigs-list.json), and their
responses become HTTP the way API Gateway maps them, so that what works here works behind API Gateway,
and what API Gateway would refuse (a malformed response, a disallowed origin) fails here too.
"""

import base64
import json
import re
import sys
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, unquote

from tools.local.console import Console, brief
from tools.local.runtime import FunctionRuntime
from tools.local.serving import BackgroundServer, LocalHttpServer
from tools.provision import ACCOUNT_ID, LocalResources, Unresolved
from tools.sam_template import HttpRoute, resolve

MAX_BODY_BYTES = 10 * 1024 * 1024  # HTTP API's payload limit
# Media types API Gateway passes as text; any other body reaches the function base64-encoded.
_TEXT_TYPES = re.compile(r"text/.*|application/(json|xml|javascript|.*\+json|.*\+xml)")
_LOCAL_ORIGIN = re.compile(r"http://(localhost|127\.0\.0\.1)(:\d+)?")


@dataclass(frozen=True)
class HttpRequest:
    method: str
    target: str  # path and query, as sent
    headers: list[tuple[str, str]]  # as sent: original case, repeats kept
    body: bytes = b""
    source_ip: str = "127.0.0.1"
    protocol: str = "HTTP/1.1"

    @property
    def raw_path(self) -> str:
        return self.target.partition("?")[0]

    @property
    def raw_query(self) -> str:
        return self.target.partition("?")[2]

    def header(self, name: str) -> str | None:
        values = [value for key, value in self.headers if key.lower() == name.lower()]
        return ",".join(values) if values else None


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    @classmethod
    def json(cls, status: int, body: Any) -> "HttpResponse":
        return cls(status, [("Content-Type", "application/json")], json.dumps(body).encode())

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)


# API Gateway's own answers, word for word.
BAD_REQUEST = HttpResponse.json(HTTPStatus.BAD_REQUEST, {"message": "Bad Request"})
NOT_FOUND = HttpResponse.json(HTTPStatus.NOT_FOUND, {"message": "Not Found"})
INTERNAL_SERVER_ERROR = HttpResponse.json(HTTPStatus.INTERNAL_SERVER_ERROR, {"message": "Internal Server Error"})
TOO_LARGE = HttpResponse.json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"message": "Request Entity Too Large"})
LENGTH_REQUIRED = HttpResponse.json(HTTPStatus.LENGTH_REQUIRED, {"message": "Length Required"})


# --- Routes -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RouteMatch:
    route: HttpRoute
    path_parameters: dict[str, str]

    @property
    def route_key(self) -> str:
        return f"{self.route.method} {self.route.path}"


class Router:
    """Picks a request's route as API Gateway does: the most specific match wins.

    Literal paths before paths with variables, fewer variables before more, a greedy `{proxy+}` last, and
    a route's own method before ANY.
    """

    def __init__(self, routes: Iterable[HttpRoute]) -> None:
        compiled = [_CompiledRoute.of(route) for route in routes]
        self._routes = sorted(compiled, key=lambda route: route.precedence)

    @property
    def routes(self) -> list[HttpRoute]:
        return [compiled.route for compiled in self._routes]

    def match(self, method: str, raw_path: str) -> RouteMatch | None:
        for compiled in self._routes:
            if compiled.route.method not in (method, "ANY"):
                continue
            if found := compiled.pattern.fullmatch(raw_path):
                values = [unquote(value) for value in found.groups()]
                return RouteMatch(compiled.route, dict(zip(compiled.parameters, values, strict=True)))
        return None


@dataclass(frozen=True)
class _CompiledRoute:
    route: HttpRoute
    pattern: re.Pattern[str]
    parameters: list[str]
    precedence: tuple[bool, int, bool]

    @classmethod
    def of(cls, route: HttpRoute) -> "_CompiledRoute":
        parts, parameters, greedy = [], [], False
        for segment in route.path.strip("/").split("/"):
            if variable := re.fullmatch(r"\{(.+)\}", segment):
                name = variable.group(1)
                greedy = name.endswith("+")
                parameters.append(name.removesuffix("+"))
                parts.append("(.+)" if greedy else "([^/]+)")
            else:
                parts.append(re.escape(segment))
        pattern = re.compile("/" + "/".join(parts))
        return cls(route, pattern, parameters, (greedy, len(parameters), route.method == "ANY"))


# --- Events and responses -----------------------------------------------------------------------------


def build_event(
    request: HttpRequest, match: RouteMatch, request_id: str | None = None, received_at: datetime | None = None
) -> dict[str, Any]:
    """The payload format 2.0 event API Gateway sends the function for `request`."""
    received_at = received_at or datetime.now(UTC)
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        if name.lower() == "cookie":
            cookies += [cookie.strip() for cookie in value.split(";") if cookie.strip()]
        else:
            headers[name.lower()] = f"{headers[name.lower()]},{value}" if name.lower() in headers else value
    headers.setdefault("x-forwarded-for", request.source_ip)
    headers.setdefault("x-forwarded-proto", "http")
    domain_name = headers.get("host", "localhost").split(":")[0]

    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": match.route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    if query := _query_parameters(request.raw_query):
        event["queryStringParameters"] = query
    event["requestContext"] = {
        "accountId": ACCOUNT_ID,
        "apiId": "local",
        "domainName": domain_name,
        "domainPrefix": domain_name.split(".")[0],
        "http": {
            "method": request.method,
            "path": request.raw_path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": request_id or _request_id(),
        "routeKey": match.route_key,
        "stage": "$default",
        "time": received_at.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(received_at.timestamp() * 1000),
    }
    if match.path_parameters:
        event["pathParameters"] = match.path_parameters
    body, is_base64 = _event_body(request)
    if body is not None:
        event["body"] = body
    event["isBase64Encoded"] = is_base64
    return event


def _query_parameters(raw_query: str) -> dict[str, str]:
    parameters: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        parameters[name] = f"{parameters[name]},{value}" if name in parameters else value
    return parameters


def _event_body(request: HttpRequest) -> tuple[str | None, bool]:
    if not request.body:
        return None, False
    media_type = (request.header("content-type") or "").split(";")[0].strip().lower()
    if _TEXT_TYPES.fullmatch(media_type):
        try:
            return request.body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(request.body).decode("ascii"), True


def _request_id() -> str:
    # The shape of API Gateway's ids ("K1pXhgyUjoEEMrA="), so that nothing parsing them is surprised.
    return base64.b64encode(uuid.uuid4().bytes[:11]).decode("ascii")


class MalformedResponse(ValueError):
    """A function response API Gateway would answer with a 500."""


def http_response(payload: Any) -> HttpResponse:
    """The function's response as API Gateway turns it into HTTP (payload format 2.0)."""
    if not (isinstance(payload, dict) and "statusCode" in payload):
        # API Gateway's format inference: any other JSON is a 200 whose body is that JSON.
        inferred = payload if isinstance(payload, str) else json.dumps(payload)
        return HttpResponse(HTTPStatus.OK, [("Content-Type", "application/json")], _utf8(inferred))
    status = payload["statusCode"]
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise MalformedResponse(f"statusCode must be an HTTP status code, not {status!r}")
    headers, cookies, body = payload.get("headers"), payload.get("cookies"), payload.get("body")
    headers = {} if headers is None else headers
    cookies = [] if cookies is None else cookies
    if not isinstance(headers, dict):
        raise MalformedResponse("headers must be an object")
    if not isinstance(cookies, list):
        raise MalformedResponse("cookies must be a list")
    if body is not None and not isinstance(body, str):
        raise MalformedResponse(f"body must be a string, not {type(body).__name__}")
    content = _utf8(body or "")
    if payload.get("isBase64Encoded") and body:
        try:
            content = base64.b64decode(body, validate=True)
        except ValueError:
            raise MalformedResponse("isBase64Encoded is true but body is not base64") from None
    pairs = [(str(name), str(value)) for name, value in headers.items()]
    pairs += [("Set-Cookie", str(cookie)) for cookie in cookies]
    for name, value in pairs:
        _check_header(name, value)
    return HttpResponse(status, pairs, content)


def _utf8(text: str, what: str = "the body") -> bytes:
    try:
        return text.encode()
    except UnicodeEncodeError:  # a lone surrogate: JSON can carry one ("\ud800"), UTF-8 cannot
        raise MalformedResponse(f"{what} is not valid Unicode") from None


_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110's field name
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # a tab is fine in a field value; CR and LF never are


def _check_header(name: str, value: str) -> None:
    """Refuse what cannot be one header line: a line break in a value would split the response in two."""
    if not _TOKEN.fullmatch(name):
        raise MalformedResponse(f"{name!r} is not a header name")
    if _CONTROL.search(value):
        raise MalformedResponse(f"header {name} has a line break or a control character")
    _utf8(value, f"header {name}")


# --- CORS ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cors:
    """The API's CorsConfiguration; API Gateway applies it, and ignores whatever CORS headers functions set."""

    allow_origins: frozenset[str]
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age: int | None = None
    allow_credentials: bool = False

    @classmethod
    def from_template(cls, configuration: Mapping[str, Any], resources: LocalResources) -> "Cors":
        origins = _resolve_where_possible(configuration.get("AllowOrigins", []), resources)
        return cls(
            allow_origins=frozenset(str(origin) for origin in origins if _UNRESOLVED not in str(origin)),
            allow_methods=tuple(configuration.get("AllowMethods", [])),
            allow_headers=tuple(configuration.get("AllowHeaders", [])),
            expose_headers=tuple(configuration.get("ExposeHeaders", [])),
            max_age=configuration.get("MaxAge"),
            allow_credentials=bool(configuration.get("AllowCredentials", False)),
        )

    def allows(self, origin: str) -> bool:
        # Any local origin too: the frontend's port is yours to choose (and tests choose a free one).
        return "*" in self.allow_origins or origin in self.allow_origins or bool(_LOCAL_ORIGIN.fullmatch(origin))

    @staticmethod
    def is_preflight(request: HttpRequest) -> bool:
        return request.method == "OPTIONS" and bool(
            request.header("origin") and request.header("access-control-request-method")
        )

    def preflight(self, origin: str) -> HttpResponse:
        """API Gateway answers preflight requests itself, whatever the routes."""
        if not self.allows(origin):
            return HttpResponse(HTTPStatus.NO_CONTENT)
        headers = self._origin_headers(origin)
        if self.allow_methods:
            headers.append(("Access-Control-Allow-Methods", ",".join(self.allow_methods)))
        if self.allow_headers:
            headers.append(("Access-Control-Allow-Headers", ",".join(self.allow_headers)))
        if self.max_age is not None:
            headers.append(("Access-Control-Max-Age", str(self.max_age)))
        return HttpResponse(HTTPStatus.NO_CONTENT, headers)

    def apply(self, response: HttpResponse, origin: str | None) -> HttpResponse:
        headers = [(name, value) for name, value in response.headers if not _is_cors_header(name)]
        if origin and self.allows(origin):
            headers += self._origin_headers(origin)
            if self.expose_headers:
                headers.append(("Access-Control-Expose-Headers", ",".join(self.expose_headers)))
        return HttpResponse(response.status, headers, response.body)

    def _origin_headers(self, origin: str) -> list[tuple[str, str]]:
        if "*" in self.allow_origins and not self.allow_credentials:
            return [("Access-Control-Allow-Origin", "*")]
        headers = [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
        if self.allow_credentials:
            headers.append(("Access-Control-Allow-Credentials", "true"))
        return headers


def _is_cors_header(name: str) -> bool:
    return name.lower().startswith("access-control-")


_UNRESOLVED = "\0unresolved\0"


def _resolve_where_possible(value: Any, resources: LocalResources) -> Any:
    """Resolve `value`, marking what only exists on AWS (CloudFront's domain) instead of failing on it."""

    def ref(name: str) -> Any:
        try:
            return resources.ref(name)
        except Unresolved:
            return _UNRESOLVED

    def get_att(resource: str, attribute: str) -> Any:
        try:
            return resources.get_att(resource, attribute)
        except Unresolved:
            return _UNRESOLVED

    return resolve(value, ref, get_att)


# --- The server ---------------------------------------------------------------------------------------


class LocalApi(BackgroundServer):
    """The HTTP API on http://host:port (port 0: any free port), one function invocation per request."""

    def __init__(
        self,
        routes: Iterable[HttpRoute],
        runtimes: Mapping[str, FunctionRuntime],
        cors: Cors | None,
        console: Console,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.router = Router(routes)
        self.cors = cors
        self._runtimes = runtimes
        self._console = console
        super().__init__(_ApiServer((host, port), self), name="api")

    def report(self, line: str) -> None:
        self._console.line("api", line)

    def respond(self, request: HttpRequest) -> tuple[HttpResponse, str]:
        """The response to `request`, and what happened, in a few words, for the console."""
        origin = request.header("origin")
        if self.cors and origin and Cors.is_preflight(request):
            return self.cors.preflight(origin), "CORS preflight" + ("" if self.cors.allows(origin) else " refused")
        response, outcome = self._invoke(request)
        return (self.cors.apply(response, origin) if self.cors else response), outcome

    def _invoke(self, request: HttpRequest) -> tuple[HttpResponse, str]:
        match = self.router.match(request.method, request.raw_path)
        if match is None:
            return NOT_FOUND, "no route"
        function = match.route.function
        invocation = self._runtimes[function].invoke(build_event(request, match))
        outcome = f"{function} {invocation.duration_ms:.0f} ms"
        if invocation.error:
            return INTERNAL_SERVER_ERROR, f"{outcome}: {invocation.error.type}: {brief(invocation.error.message)}"
        try:
            return http_response(invocation.response), outcome
        except MalformedResponse as malformed:
            return INTERNAL_SERVER_ERROR, f"{outcome}: malformed response: {malformed}"


class _ApiServer(LocalHttpServer):
    def __init__(self, address: tuple[str, int], api: LocalApi) -> None:
        super().__init__(address, _ApiRequestHandler)
        self.api = api

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exception(), ConnectionError):  # a closed tab is not worth a traceback
            super().handle_error(request, client_address)


class _ApiRequestHandler(BaseHTTPRequestHandler):
    """One request per connection (HTTP/1.0), answered in JSON whatever is wrong with it, as API Gateway does.

    http.server refuses some requests itself, before any `do_` method: a malformed request line, a method it
    has no `do_` method for, too many or too long headers. `send_error` words those refusals as API Gateway
    words its own (`{"message": "Not Found"}`), with a status line even where http.server would write none.
    """

    server: _ApiServer
    raw_requestline: bytes  # set by http.server, which typeshed does not say
    server_version = "local-http-api"
    sys_version = ""

    def parse_request(self) -> bool:
        if not self.raw_requestline.strip():  # http.server would hang up without a word
            self.command = ""  # as http.server leaves it for a request line it refuses
            self.send_error(HTTPStatus.BAD_REQUEST, "empty request line")
            return False
        if not super().parse_request():
            return False
        if self.request_version == "HTTP/0.9":  # `GET /path`: API Gateway speaks HTTP/1.x and HTTP/2 only
            self.send_error(HTTPStatus.BAD_REQUEST, "no HTTP version in the request line")
            return False
        return True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        status = HTTPStatus(code)
        if getattr(self, "request_version", "HTTP/0.9") == "HTTP/0.9":
            self.request_version = self.protocol_version  # http.server writes no status line for HTTP/0.9
        self.close_connection = True
        self._answer(HttpResponse.json(status, {"message": status.phrase}), brief(message or status.phrase))

    def handle_any(self) -> None:
        length = content_length(self.headers.get_all("Content-Length") or [])
        if self.headers.get_all("Transfer-Encoding"):
            # A chunked body is not read here (one that never ends would hold the connection): say so.
            response, outcome = LENGTH_REQUIRED, "Transfer-Encoding: the local API reads bodies with a Content-Length"
            self.close_connection = True
        elif length is None:
            response, outcome = BAD_REQUEST, "invalid Content-Length"
        elif length > MAX_BODY_BYTES:
            response, outcome = TOO_LARGE, f"body over {MAX_BODY_BYTES // 1024 // 1024} MB"
            self.close_connection = True  # rather than read a body nobody will look at
        elif len(body := self.rfile.read(length)) < length:
            response, outcome = BAD_REQUEST, f"body of {len(body)} bytes, not the {length} its Content-Length says"
        else:
            headers = list(self.headers.items())
            request = HttpRequest(self.command, self.path, headers, body, self.client_address[0], self.request_version)
            try:
                response, outcome = self.server.api.respond(request)
            except Exception as error:  # a bug here must not cost the client its answer
                response = INTERNAL_SERVER_ERROR
                outcome = f"local API error: {type(error).__name__}: {brief(str(error))}"
        self._answer(response, outcome)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = handle_any

    def _answer(self, response: HttpResponse, outcome: str) -> None:
        try:
            self._send(response)
        finally:  # a client that went away still made a request worth a line
            # No command (unset, or None) when the request line was refused.
            if command := getattr(self, "command", None):
                request = f"{command} {brief(self.path.partition('?')[0], limit=80)}"
            else:
                request = "(unreadable request)"
            self.server.api.report(f"{request} -> {response.status} {outcome}")

    def _send(self, response: HttpResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            # What is not ASCII goes out as UTF-8 (http.server writes headers in Latin-1, and refuses the rest).
            self.send_header(name, value.encode().decode("latin-1"))
        self.send_header("apigw-requestid", _request_id())
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD" and response.body:
            self.wfile.write(response.body)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Silenced, as `log_message`: `_answer` prints one line per request, in the stack's format."""

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: `_answer` prints one line per request, in the stack's format."""


# A length is ASCII digits. str.isdigit() also takes Latin-1's "¹²³", which int() refuses.
_LENGTH = re.compile(r"[0-9]+")
# More digits than any length worth reading; int() would refuse thousands of them (and take its time).
_MAX_LENGTH_DIGITS = 18


def content_length(values: Sequence[str]) -> int | None:
    """The length of the body by its Content-Length headers (0 without one); None when they give no one length.

    Copies that disagree are refused as well, as RFC 9112 (6.3) asks: a request smuggler sends those.
    """
    lengths = {value.strip() for value in values}
    if not lengths:
        return 0
    if len(lengths) > 1 or not all(_LENGTH.fullmatch(length) for length in lengths):
        return None
    digits = lengths.pop().lstrip("0") or "0"
    return int(digits) if len(digits) <= _MAX_LENGTH_DIGITS else sys.maxsize
