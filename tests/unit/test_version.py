"""The running version: pyproject.toml + git in a checkout, build_info.json in a deployment."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.version import BuildInfo, read_build_info, source_build_info
from tests.conftest import PROJECT_DIR


def test_a_version_is_the_projects_then_the_revision_as_a_local_label():
    assert BuildInfo("0.1.0", "1a2b3c4d5e6f").describe() == "0.1.0+1a2b3c4d5e6f"
    assert BuildInfo("0.1.0", "1a2b3c4d5e6f.dirty").describe() == "0.1.0+1a2b3c4d5e6f.dirty"
    assert BuildInfo("0.1.0", None).describe() == "0.1.0"
    assert BuildInfo(None, None).describe() == "unknown"


def test_build_info_reads_back_what_was_written(tmp_path):
    path = tmp_path / "build_info.json"
    path.write_text(BuildInfo("0.1.0", "1a2b3c4d5e6f").to_json(), "utf-8")
    assert read_build_info(path) == BuildInfo("0.1.0", "1a2b3c4d5e6f")
    assert read_build_info(tmp_path / "missing.json") is None


def git(directory: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=directory,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_a_checkout_names_its_commit_and_says_when_files_changed(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nversion = "2.3.4"\n', "utf-8")
    git(tmp_path, "init", "--quiet")
    git(tmp_path, "add", "pyproject.toml")
    git(tmp_path, "commit", "--quiet", "-m", "first")
    commit = git(tmp_path, "rev-parse", "--short=12", "HEAD")
    assert source_build_info(tmp_path) == BuildInfo("2.3.4", commit)
    # Results the benchmark writes while measuring the tree do not make it another version
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "results.md").write_text("# Benchmark results\n", "utf-8")
    assert source_build_info(tmp_path) == BuildInfo("2.3.4", commit)
    (tmp_path / "new.py").write_text("", "utf-8")
    assert source_build_info(tmp_path) == BuildInfo("2.3.4", f"{commit}.dirty")


def test_without_git_only_the_project_version_is_known(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nversion = "2.3.4"\n', "utf-8")
    assert source_build_info(tmp_path) == BuildInfo("2.3.4", None)
    assert source_build_info(tmp_path / "nothing-here") == BuildInfo(None, None)


def test_a_deployment_reads_its_build_info_once_and_never_runs_git(tmp_path):
    # Laid out as Lambda's task root: chalicelib/ with build_info.json, no .git, no git
    (tmp_path / "chalicelib").mkdir()
    shutil.copy(PROJECT_DIR / "chalicelib" / "version.py", tmp_path / "chalicelib")
    (tmp_path / "chalicelib" / "__init__.py").write_text("", "utf-8")
    (tmp_path / "chalicelib" / "build_info.json").write_text(
        json.dumps({"version": "0.1.0", "revision": "1a2b3c4d5e6f"}), "utf-8"
    )
    probe = (
        "import sys\n"
        "from chalicelib.version import running_version\n"
        "running_version()\n"
        "print(running_version(), running_version.cache_info().misses, 'subprocess' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env={"PATH": ""},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split() == ["0.1.0+1a2b3c4d5e6f", "1", "False"]
