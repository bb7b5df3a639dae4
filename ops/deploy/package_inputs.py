"""What `chalice package` and `chalice deploy` must find in the project besides the code.

- vendor/ (git-ignored): the packages pinned in requirements-tracing.txt (the X-Ray SDK) and
  requirements-vendored.txt (icalendar), without their dependencies; Chalice ships vendor/ as
  it is. Through requirements.txt pip would add botocore, urllib3 and dateutil, which the
  Lambda runtime already has (deployment.zip: 3.7 MB → 21.5 MB, over the 5 MB budget).
  Pure-Python builds only: wrapt's compiled speedup would double the SDK's size for one
  wrapper call per AWS request, and tie the zip to one CPU architecture. The test suites and
  scripts some wheels carry are left out (icalendar's tests are 344 of its 433 files).
- chalicelib/build_info.json (git-ignored): the project version and git revision that
  /api/health reports. It exists only while the packaging runs: left behind, a later plain
  `chalice deploy` would ship a stale revision, where now it ships none.
"""

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from chalicelib.version import BUILD_INFO_PATH, BuildInfo, source_build_info
from ops.deploy.stage import PROJECT_DIR

TRACING_REQUIREMENTS = "requirements-tracing.txt"
VENDORED_REQUIREMENTS = "requirements-vendored.txt"
# Everything vendor/ holds; a file the project does not have adds nothing.
VENDOR_SOURCES = (TRACING_REQUIREMENTS, VENDORED_REQUIREMENTS)


@contextmanager
def package_inputs(project_dir: Path = PROJECT_DIR) -> Iterator[BuildInfo]:
    """vendor/ up to date and build_info.json written for the duration; yields the build."""
    vendor_packages(project_dir)
    build = source_build_info(project_dir)
    path = project_dir / "chalicelib" / BUILD_INFO_PATH.name
    path.write_text(build.to_json(), encoding="utf-8")
    try:
        yield build
    finally:
        path.unlink(missing_ok=True)


def pinned_requirements(path: Path) -> dict[str, str]:
    """Distribution name (normalised as in a .dist-info folder) → pinned version."""
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        requirement = line.split("#", 1)[0].strip()
        if not requirement:
            continue
        name, separator, version = requirement.partition("==")
        if not separator:
            raise ValueError(f"{path.name}: pin every package with ==, not '{requirement}'")
        pins[re.sub(r"[-_.]+", "_", name.strip()).lower()] = version.strip()
    return pins


def vendor_packages(project_dir: Path = PROJECT_DIR) -> bool:
    """Install the packages pinned in VENDOR_SOURCES into vendor/ unless exactly they are there
    already. True if it installed (which downloads from the package index, like `chalice
    package`)."""
    sources = [project_dir / name for name in VENDOR_SOURCES if (project_dir / name).is_file()]
    vendor = project_dir / "vendor"
    wanted = {
        f"{name}-{version}.dist-info".lower()
        for source in sources
        for name, version in pinned_requirements(source).items()
    }
    present = {p.name.lower() for p in vendor.glob("*.dist-info")} if vendor.is_dir() else set()
    if present == wanted:
        return False
    shutil.rmtree(vendor, ignore_errors=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--no-compile",
            "--only-binary=:all:",
            "--platform",
            "any",
            "--implementation",
            "py",
            # The runtime `chalice package` picks: the Python running it.
            "--python-version",
            f"{sys.version_info.major}.{sys.version_info.minor}",
            "--target",
            str(vendor),
            *(option for source in sources for option in ("--requirement", str(source))),
        ],
        check=True,
    )
    # Nothing on Lambda runs the packages' test suites or scripts; icalendar's tests alone
    # would add 0.3 MB to the zip.
    for unused in (*vendor.glob("*/tests"), vendor / "bin"):
        shutil.rmtree(unused, ignore_errors=True)
    return True


# The name from when vendor/ held the X-Ray SDK alone.
vendor_tracing_sdk = vendor_packages
