"""`make client-csharp`: openapi-generator's C# client of the OpenAPI document has a method for
every operation and a class for every schema, and the same document gives the same files.

About 5 s per generation here (Java 17, two cores); the module generates twice.
"""

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app import app
from chalicelib.api.openapi import build_document
from ops.client_csharp import (
    PACKAGE_GUID,
    PACKAGE_NAME,
    TARGET_FRAMEWORK,
    ClientGenerationError,
    generate_csharp_client,
)
from tests.conftest import PROJECT_DIR

SOURCES = Path("src") / PACKAGE_NAME
METHOD = re.compile(r"public async Task<I(\w+)ApiResponse> (\w+)Async\(")


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return build_document(app)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("clients") / "csharp"
    result = subprocess.run(
        [sys.executable, "manage.py", "client-csharp", "--out", str(out)],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out, result.stdout + result.stderr


def _pascal(operation_id: str) -> str:
    return "".join(word[:1].upper() + word[1:] for word in operation_id.split("_"))


def test_generation_says_where_the_client_is_in_one_line(generated):
    # Given the command has run
    out, output = generated
    # Then all it printed is the one line naming the folder
    assert output.strip().splitlines() == [
        f"✓ C# 클라이언트 ({PACKAGE_NAME}, {TARGET_FRAMEWORK}): {out}"
    ]


def test_every_operation_is_a_method_of_its_tags_api_class(generated, document):
    # Given the document's operations, each under its first tag
    out, _ = generated
    expected = {
        (_pascal(operation["tags"][0]) + "Api", _pascal(operation["operationId"]))
        for operations in document["paths"].values()
        for operation in operations.values()
    }
    # When the generated API classes are read
    found = {
        (source.stem, name)
        for source in (out / SOURCES / "Api").glob("*.cs")
        for answer, name in METHOD.findall(source.read_text("utf-8"))
        if answer == name
    }
    # Then there is one async method per operationId, in the class of its tag, and no other
    assert ("EventsApi", "CreateEvent") in found
    assert ("EventsApi", "ListEvents") in found
    assert found == expected


def test_every_schema_is_a_model_class(generated, document):
    # Given the document's schemas
    out, _ = generated
    schemas = set(document["components"]["schemas"])
    assert {"Event", "Department", "EventPage"} <= schemas
    # When the generated models are listed
    models = {source.stem for source in (out / SOURCES / "Model").glob("*.cs")}
    # Then each schema is a class of its own name, and OpenAPI 3.1's `anyOf [T, null]` added
    # no stray wrapper models
    assert models == schemas
    for name in schemas:
        source = (out / SOURCES / "Model" / f"{name}.cs").read_text("utf-8")
        assert f"public partial class {name} " in source
    # And a nullable field is a nullable reference
    event = (out / SOURCES / "Model" / "Event.cs").read_text("utf-8")
    assert "public string? Start { get; }" in event


def test_the_project_targets_net8_with_nullable_references_and_a_fixed_guid(generated):
    out, _ = generated
    project = (out / SOURCES / f"{PACKAGE_NAME}.csproj").read_text("utf-8")
    assert f"<TargetFramework>{TARGET_FRAMEWORK}</TargetFramework>" in project
    assert "<Nullable>enable</Nullable>" in project
    assert PACKAGE_GUID in (out / f"{PACKAGE_NAME}.sln").read_text("utf-8")


def test_generating_again_gives_the_same_files(generated, document, tmp_path):
    # Given a client generated before
    out, _ = generated
    # When the same document is generated again elsewhere
    again = generate_csharp_client(document, tmp_path / "again")

    # Then every file is the same, byte for byte
    def files(root: Path) -> dict[str, bytes]:
        return {
            str(path.relative_to(root)): path.read_bytes()
            for path in sorted(root.rglob("*"))
            if path.is_file()
        }

    assert files(again) == files(out)


def test_a_folder_that_is_not_a_generated_client_is_left_alone(document, tmp_path):
    # Given a folder with someone's file in it
    (tmp_path / "notes.txt").write_text("keep", "utf-8")
    # When the client is to be generated into it
    with pytest.raises(ClientGenerationError, match="이전에 생성한 클라이언트가 아닙니다"):
        generate_csharp_client(document, tmp_path)
    # Then nothing in it was touched
    assert [path.name for path in tmp_path.iterdir()] == ["notes.txt"]
