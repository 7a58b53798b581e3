import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

from tests.e2e.local_stack import RunningStack, start_stack

# Debian's Chromium (`make chromium`); Playwright's own browser download is not used.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The session stack's schedules run this often (seconds), so a test sees the reconciler at work quickly.
SCHEDULE_INTERVAL = 2
# Generous, for a busy 2-core CI machine: an `expect` passes as soon as its condition holds.
BROWSER_TIMEOUT_MS = 15_000
expect.set_options(timeout=BROWSER_TIMEOUT_MS)


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """The whole shop (`make dev`), once per session, on free ports, with its own outbox and logs.

    Failed messages come back after 1 s rather than the template's 180 s, so a poison message reaches the
    dead-letter queue within seconds; the schedules run every SCHEDULE_INTERVAL seconds.
    """
    stack = start_stack(
        tmp_path_factory.mktemp("local-stack"), "--visibility-timeout=1", f"--schedule-interval={SCHEDULE_INTERVAL}"
    )
    try:
        yield stack
    finally:
        exit_code = stack.stop()
    assert exit_code == 0, f"the stack exited with {exit_code}:\n{stack.output}"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium, once per test module.

    Not once per session: while Playwright's sync API runs, its event loop is the thread's running loop, so
    tests that run after it in the same process could not call `asyncio.run` (as the worker does).
    """
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Chromium is not installed: `make chromium` installs Debian's package")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page in a fresh browser context (no cookies, cache or storage from another test), in US English.

    Fails the test if the page broke the Content-Security-Policy: the site must work under the policy it is
    served with, as on CloudFront.
    """
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US", timezone_id="UTC")
    context.set_default_timeout(BROWSER_TIMEOUT_MS)
    page = context.new_page()
    violations: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            violations.append(message.text)

    page.on("console", on_console)
    try:
        yield page
    finally:
        context.close()
    assert not violations, "the page broke its Content-Security-Policy:\n" + "\n".join(violations)
