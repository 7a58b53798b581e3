"""moto's DynamoDB, made to apply each request atomically, as DynamoDB does.

moto runs a TransactWriteItems by deep-copying the tables it touches and putting that copy back when the
transaction fails. With requests running at once (moto's server is threaded; tests run buyers in threads),
a failed transaction puts back a copy taken before another request's write, and that write is lost: a
ticket recorded by a purchase that succeeded vanishes, a key claimed twice. DynamoDB applies every request
atomically, and the ledger's correctness under concurrency rests on that. One lock around each of moto's
item operations gives it the same property; requests still interleave between calls, as on AWS.
"""

import functools
import threading
from collections.abc import Callable
from typing import Any

from moto.dynamodb.models import DynamoDBBackend

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


def apply_requests_atomically() -> None:
    """Patch moto's DynamoDB backend (once per process) so that each request is applied under one lock."""
    if getattr(DynamoDBBackend, _APPLIED, False):
        return
    for name in _OPERATIONS:
        setattr(DynamoDBBackend, name, _atomic(getattr(DynamoDBBackend, name)))
    setattr(DynamoDBBackend, _APPLIED, True)


def _atomic(operation: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(operation)
    def atomically(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return operation(*args, **kwargs)

    return atomically
