"""The calendar page in a real browser, against the local stack started as `make run` starts it.

The browser side is web/tests/*.test.mjs: Node's test runner driving Debian's Chromium, headless,
through playwright-core (`make browser` installs Chromium and a Korean font). Each file is one
test here. Screenshots and the live-update latencies are kept in build/browser-tests/.
"""

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.local_stack import PROJECT_DIR, LocalStack

pytestmark = pytest.mark.e2e

WEB_DIR = PROJECT_DIR / "web"
ARTIFACTS = PROJECT_DIR / "build" / "browser-tests"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
BROWSER_SUITES = sorted(path.name for path in (WEB_DIR / "tests").glob("*.test.mjs"))
SUITE_TIMEOUT_SECONDS = 300


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    local = LocalStack()
    yield local
    local.stop()


@pytest.fixture(scope="module")
def browser_ready() -> None:
    """What `make test` installs; run alone, say what is missing rather than fail obscurely."""
    built_page = PROJECT_DIR / "chalicelib" / "web" / "index.html"
    needs = {
        f"Chromium at {CHROMIUM} (`make browser`)": CHROMIUM.exists(),
        "Node.js": shutil.which("node") is not None,
        "web/node_modules (`make web`)": (WEB_DIR / "node_modules").is_dir(),
        "the built page (`make web`)": built_page.is_file(),
    }
    missing = [need for need, present in needs.items() if not present]
    assert not missing, "The browser tests need " + ", ".join(missing)


@pytest.mark.usefixtures("browser_ready")
@pytest.mark.parametrize("suite", BROWSER_SUITES)
def test_the_calendar_page_in_chromium(stack: LocalStack, suite: str) -> None:
    # Given the local stack and Chromium, when the suite's browser script runs against it
    result = subprocess.run(
        ["node", "--test", "--test-reporter=spec", f"tests/{suite}"],
        cwd=WEB_DIR,
        env={
            **os.environ,
            "CALENDAR_URL": stack.base_url,
            "CHROMIUM": str(CHROMIUM),
            "BROWSER_ARTIFACTS": str(ARTIFACTS),
        },
        capture_output=True,
        text=True,
        timeout=SUITE_TIMEOUT_SECONDS,
        check=False,
    )
    # Then every step passed (the runner's report says which did not, and why)
    assert result.returncode == 0, result.stdout + result.stderr
