"""The API's C# client, generated from the OpenAPI document by openapi-generator's `csharp`
generator (`make client-csharp`).

The generator is the JAR inside the PyPI package `openapi-generator-cli` (requirements-dev.txt):
nothing is downloaded when it runs. It runs on the Java ops/java.py finds. The same document
gives the same files: the project GUID is fixed and no timestamps are written.
"""

import importlib.resources
import json
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ops.java import JavaNotFound, find_java

PACKAGE_NAME = "DepartmentCalendar.Client"
TARGET_FRAMEWORK = "net8.0"
# System.Text.Json, HttpClient and Microsoft.Extensions.Hosting: the generator's default library.
LIBRARY = "generichost"
# The generator picks a random project GUID on each run unless it is given one.
PACKAGE_GUID = "{" + str(uuid.uuid5(uuid.NAMESPACE_URL, PACKAGE_NAME)).upper() + "}"
# One short run: only the JIT's first tier (C1) and the serial collector; the JVM's defaults
# take about 7 s here instead of 4 s.
JVM_OPTIONS = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")
# What the generator writes into every output folder; a folder without it is not replaced.
_MARKER = ".openapi-generator"


class ClientGenerationError(Exception):
    """The client cannot be generated; the message says why or what to do."""


def generator_jar() -> Path:
    try:
        package = importlib.resources.files("openapi_generator_cli")
    except ModuleNotFoundError:
        package = None
    jar = Path(str(package / "openapi-generator.jar")) if package is not None else None
    if jar is None or not jar.is_file():
        raise ClientGenerationError(
            "openapi-generator-cli가 없습니다: `make install`을 실행하세요."
        )
    return jar


def generate_csharp_client(document: Mapping[str, Any], out: Path) -> Path:
    """Write the client for `document` into `out`, replacing an earlier one there."""
    try:
        java = find_java()
    except JavaNotFound as error:
        raise ClientGenerationError(str(error)) from None
    jar = generator_jar()
    _clear(out)
    properties = {
        "targetFramework": TARGET_FRAMEWORK,
        "nullableReferenceTypes": "true",
        "packageGuid": PACKAGE_GUID,
        "packageVersion": str(document["info"]["version"]),
        "hideGenerationTimestamp": "true",
    }
    with tempfile.TemporaryDirectory(prefix="openapi-") as scratch:
        spec = Path(scratch) / "openapi.json"
        spec.write_text(json.dumps(document, ensure_ascii=False, indent=2), "utf-8")
        command = [
            java,
            *JVM_OPTIONS,
            "-jar",
            str(jar),
            "generate",
            # Relative, as the client's README repeats it.
            "--input-spec",
            spec.name,
            "--generator-name",
            "csharp",
            "--library",
            LIBRARY,
            "--package-name",
            PACKAGE_NAME,
            "--output",
            str(out.resolve()),
            *(f"--additional-properties={key}={value}" for key, value in properties.items()),
            # The document's webhooks are calls the API makes, not operations a client calls:
            # generated as operations, they would overwrite an API class.
            "--global-property=apis,models,supportingFiles",
        ]
        # Its INFO lines and banner go nowhere unless it fails.
        result = subprocess.run(
            command,
            cwd=scratch,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
    if result.returncode != 0:
        tail = (result.stdout + result.stderr).strip().splitlines()[-5:]
        raise ClientGenerationError(
            f"openapi-generator가 실패했습니다 (종료 코드 {result.returncode}): " + " / ".join(tail)
        )
    return out


def _clear(out: Path) -> None:
    """Start from an empty folder, so nothing of an earlier document is left behind."""
    if not out.exists():
        return
    if not out.is_dir() or (any(out.iterdir()) and not (out / _MARKER).is_dir()):
        raise ClientGenerationError(
            f"{out}은(는) 이전에 생성한 클라이언트가 아닙니다: 다른 --out을 지정하세요."
        )
    shutil.rmtree(out)
