from collections.abc import Iterator

import pytest

from tests.e2e.local_stack import RunningStack, start_stack


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """The whole shop (`make dev`), once per session, on free ports, with its own outbox and logs.

    Failed messages come back after 1 s rather than the template's 180 s, so a poison message reaches the
    dead-letter queue within seconds.
    """
    stack = start_stack(tmp_path_factory.mktemp("local-stack"), "--visibility-timeout=1")
    try:
        yield stack
    finally:
        exit_code = stack.stop()
    assert exit_code == 0, f"the stack exited with {exit_code}:\n{stack.output}"
