"""Property-based fuzzing of the local stack over real HTTP, driven by the document it serves.

Schemathesis reads /api/openapi.json from the running stack and sends each operation generated
requests, valid and invalid (Korean and any other text), then chains of calls along the
document's links (a created department's id into its reads, changes and deletes). Every answer
is checked: never a 5xx, and a documented status, content type, headers and body. `make test`
runs a few examples per operation; `make fuzz` runs FUZZ_EXAMPLES (500) and the coverage phase.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.local_stack import PROJECT_DIR, LocalStack

pytestmark = pytest.mark.e2e

SETTINGS = Path(__file__).with_name("schemathesis.toml")
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)
EXAMPLES = os.environ.get("FUZZ_EXAMPLES")
# The coverage phase's boundary cases are many per operation: only when asked for a long run.
PHASES = "examples,coverage,fuzzing,stateful" if EXAMPLES else "examples,fuzzing,stateful"


def test_the_local_stack_keeps_the_contract_it_publishes():
    # Given the local stack, as `make run` starts it
    stack = LocalStack()
    try:
        # When Schemathesis tests every operation of the document it serves
        result = subprocess.run(
            [
                str(Path(sys.executable).parent / "schemathesis"),
                "--no-color",
                "--config-file",
                str(SETTINGS),
                "run",
                f"{stack.base_url}/api/openapi.json",
                "--url",
                stack.base_url,
                "--max-examples",
                EXAMPLES or "20",
                "--phases",
                PHASES,
                "--checks",
                ",".join(CHECKS),
            ],
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        stack.stop()
    # Then every answer was one the document promises (the report shows with `pytest -s`)
    print(result.stdout)
    if result.returncode != 0:
        pytest.fail(result.stdout + result.stderr, pytrace=False)
