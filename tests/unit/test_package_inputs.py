"""What packaging puts beside the code: the vendored X-Ray SDK and the build's version."""

import json
from importlib.metadata import version
from pathlib import Path

import pytest

from chalicelib.version import BuildInfo
from ops.deploy.package_inputs import (
    TRACING_REQUIREMENTS,
    package_inputs,
    pinned_requirements,
    vendor_tracing_sdk,
)
from tests.conftest import PROJECT_DIR


def test_the_tracing_sdk_is_pinned_and_the_tests_run_the_version_that_ships():
    pins = pinned_requirements(PROJECT_DIR / TRACING_REQUIREMENTS)
    assert set(pins) == {"aws_xray_sdk", "wrapt"}
    assert pins == {name: version(name) for name in pins}


def test_every_package_must_be_pinned(tmp_path):
    path = tmp_path / "requirements.txt"
    path.write_text("# comment\naws-xray-sdk>=2\n", "utf-8")
    with pytest.raises(ValueError, match="pin every package"):
        pinned_requirements(path)


def project_with_vendored_sdk(tmp_path: Path) -> Path:
    (tmp_path / TRACING_REQUIREMENTS).write_text("aws-xray-sdk==2.15.0\nwrapt==2.5.2\n", "utf-8")
    (tmp_path / "pyproject.toml").write_text('[project]\nversion = "0.1.0"\n', "utf-8")
    (tmp_path / "chalicelib").mkdir()
    for dist_info in ("aws_xray_sdk-2.15.0.dist-info", "wrapt-2.5.2.dist-info"):
        (tmp_path / "vendor" / dist_info).mkdir(parents=True)
    return tmp_path


def test_vendor_is_left_alone_when_it_holds_exactly_the_pins(tmp_path):
    project = project_with_vendored_sdk(tmp_path)
    assert vendor_tracing_sdk(project) is False


def test_build_info_exists_only_while_packaging(tmp_path):
    project = project_with_vendored_sdk(tmp_path)
    path = project / "chalicelib" / "build_info.json"
    with package_inputs(project) as build:
        assert build == BuildInfo("0.1.0", None)  # not a git checkout
        assert json.loads(path.read_text("utf-8")) == {"version": "0.1.0", "revision": None}
    assert not path.exists()
