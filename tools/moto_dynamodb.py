"""moto's DynamoDB, made to apply each request atomically and to honour ClientRequestToken, as DynamoDB does.

moto runs a TransactWriteItems by deep-copying the tables it touches and putting that copy back when the
transaction fails. With requests running at once (moto's server is threaded; tests run buyers in threads),
a failed transaction puts back a copy taken before another request's write, and that write is lost: a
ticket recorded by a purchase that succeeded vanishes, a key claimed twice. DynamoDB applies every request
atomically, and the ledger's correctness under concurrency rests on that. One lock around each of moto's
item operations gives it the same property; requests still interleave between calls, as on AWS.

moto also ignores a TransactWriteItems' ClientRequestToken. DynamoDB answers a repeat of a committed request
with the same token (within 10 minutes) as done, without applying it again; the purchase relies on that
when botocore retries a transaction whose answer was lost. Here too.
"""

import functools
import hashlib
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from moto.dynamodb.exceptions import DynamodbException
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.responses import DynamoHandler

_LOCK = threading.RLock()  # re-entrant: a transaction reads items through get_item
_OPERATIONS = (
    "put_item",
    "get_item",
    "update_item",
    "delete_item",
    "query",
    "scan",
    "transact_write_items",
    "execute_statement",
    "execute_transaction",
)
_APPLIED = "_ticket_shop_atomic"


TOKEN_LIFETIME_SECONDS = 10 * 60
_TOKENS = "_ticket_shop_client_request_tokens"  # on the backend: forgotten when moto resets it, as its tables


class IdempotentParameterMismatchException(DynamodbException):
    def __init__(self) -> None:
        super().__init__(
            "com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException",
            "The request uses the same client token as a previous, but non-identical request.",
        )


def apply_requests_atomically() -> None:
    """Patch moto's DynamoDB (once per process): each request applied under one lock, transaction tokens kept."""
    if getattr(DynamoDBBackend, _APPLIED, False):
        return
    for name in _OPERATIONS:
        setattr(DynamoDBBackend, name, _atomic(getattr(DynamoDBBackend, name)))
    DynamoHandler.transact_write_items = _once_per_token(DynamoHandler.transact_write_items)  # type: ignore[assignment,method-assign]
    setattr(DynamoDBBackend, _APPLIED, True)


def _once_per_token(operation: Callable[[DynamoHandler], Any]) -> Callable[[DynamoHandler], Any]:
    @functools.wraps(operation)
    def once(handler: DynamoHandler) -> Any:
        token = handler.body.get("ClientRequestToken")
        if token is None:
            return operation(handler)
        request = hashlib.sha256(json.dumps(handler.body["TransactItems"], sort_keys=True).encode()).hexdigest()
        with _LOCK:
            # token -> (the request's hash, when it committed, the answer)
            committed: dict[str, tuple[str, float, Any]] = vars(handler.dynamodb_backend).setdefault(_TOKENS, {})
            now = time.monotonic()
            seen = committed.get(token)
            if seen and now - seen[1] < TOKEN_LIFETIME_SECONDS:
                if seen[0] != request:
                    raise IdempotentParameterMismatchException
                return seen[2]
            answer = operation(handler)  # raises if cancelled: only a committed transaction keeps its token
            committed[token] = (request, now, answer)
            return answer

    return once


def _atomic(operation: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(operation)
    def atomically(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return operation(*args, **kwargs)

    return atomically
