"""Which code is running: the project's version and the git revision it was built from.

A deployment cannot ask git (Lambda has no git and no .git), so `make package` and
`make deploy` write both into build_info.json beside this module for the length of the
packaging (git-ignored). A checkout (`manage.py serve`, the tests) reads pyproject.toml and asks
git instead. Either way it happens once per process; /api/health then answers from the cache.
"""

import json
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
BUILD_INFO_PATH = Path(__file__).with_name("build_info.json")
_GIT_TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class BuildInfo:
    version: str | None  # pyproject.toml's [project].version
    revision: str | None  # 12 hex digits of the commit, ".dirty" after it if the tree had changes

    def describe(self) -> str:
        """`0.1.0+1a2b3c4d5e6f` (a PEP 440 local version), `0.1.0` without a revision."""
        version = self.version or "unknown"
        return f"{version}+{self.revision}" if self.revision else version

    def to_json(self) -> str:
        return json.dumps(asdict(self)) + "\n"


def read_build_info(path: Path = BUILD_INFO_PATH) -> BuildInfo | None:
    """What the packaging wrote, or None when there is no such file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return BuildInfo(version=data.get("version"), revision=data.get("revision"))


def source_build_info(project_dir: Path = PROJECT_DIR) -> BuildInfo:
    """The version in pyproject.toml and the revision git reports, each None if unavailable."""
    return BuildInfo(version=_project_version(project_dir), revision=_git_revision(project_dir))


@cache
def running_version() -> str:
    """This process's version, worked out on first use."""
    if not (PROJECT_DIR / ".git").exists():
        deployed = read_build_info()
        if deployed is not None:
            return deployed.describe()
    # A checkout always asks git, so a build_info.json left from packaging cannot go stale here.
    return source_build_info().describe()


def _project_version(project_dir: Path) -> str | None:
    import tomllib

    try:
        with (project_dir / "pyproject.toml").open("rb") as file:
            version = tomllib.load(file)["project"]["version"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return None
    return str(version)


_NEVER_RUN = (":(exclude)bench/results.md", ":(exclude)bench/results.json")


def _git_revision(project_dir: Path) -> str | None:
    if not (project_dir / ".git").exists():
        return None
    commit = _git(project_dir, "rev-parse", "--short=12", "HEAD")
    if not commit:
        return None
    # Uncommitted or untracked files may be in what runs; git-ignored ones (build output) not,
    # nor the benchmark's results, which `make bench` writes while measuring this very tree.
    changes = _git(project_dir, "status", "--porcelain", "--", ".", *_NEVER_RUN)
    return f"{commit}.dirty" if changes else commit


def _git(project_dir: Path, *args: str) -> str | None:
    import subprocess  # here, not at the top: a deployment never asks git

    try:
        result = subprocess.run(
            ["git", *args],
            cwd=project_dir,
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_SECONDS,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip()
