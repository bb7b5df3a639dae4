"""`import app` is Lambda's INIT: it must work with nothing configured and load nothing extra."""

import json
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys
import app
from chalicelib.context import get_context
get_context()
print(json.dumps(sorted(sys.modules)))
"""


def test_init_and_the_first_client_need_no_environment_and_load_only_what_every_request_uses():
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=PROJECT_DIR,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    modules = set(json.loads(result.stdout))
    assert "app" in modules
    forbidden = {"moto", "dotenv", "ops", "pytest", "werkzeug", "flask", "chalice.cli"}
    assert not forbidden & {name.split(".")[0] for name in modules} - {"chalice"}
    assert "chalice.cli" not in modules
    # What only the stream handlers use is loaded on their first batch, not at INIT.
    assert "aws_lambda_powertools.utilities.batch" not in modules
    assert "chalicelib.streams.handlers" not in modules
    assert "chalicelib.streams.pipeline" not in modules
    assert "chalicelib.streams.sinks" not in modules
    # The API's contract and its OpenAPI builder load on the first request for the document.
    assert "chalicelib.api.contract" not in modules
    assert "chalicelib.api.openapi" not in modules
    # The models, pydantic and the calendar rules load on the first request that needs them:
    # a health check or a preflight never does.
    assert not {"pydantic", "pydantic_core", "annotated_types"} & {
        name.split(".")[0] for name in modules
    }
    assert "chalicelib.models" not in modules
    assert not {name for name in modules if name.startswith("chalicelib.calendar")}
    assert not {name for name in modules if name.startswith("chalicelib.repositories.")} - {
        "chalicelib.repositories._common",
        "chalicelib.repositories.health",
        "chalicelib.repositories.idempotency",
    }
    # Tracing is off unless the stage turns it on (TRACING_ENABLED): no X-Ray SDK at all.
    assert not {"aws_xray_sdk", "wrapt"} & {name.split(".")[0] for name in modules}
