"""Section 6: the Lambda deployment package `chalice package` builds (it downloads the
requirements' Linux wheels), from a clean copy of the app in a temporary directory."""

import os
import platform
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from pathlib import Path

from bench.harness import REGION
from bench.report import PROJECT_DIR, Row, verdict

SECTION = "package size"
# Lambda's limits for a .zip deployment package.
ZIPPED_LIMIT = 50 * 1024 * 1024
UNZIPPED_LIMIT = 250 * 1024 * 1024
# What `chalice package` reads: the app, its library, its requirements, its config (with any
# IAM policy files next to it).
APP_FILES = ("app.py", "chalicelib", "requirements.txt", ".chalice")
# Build output and caches, never part of a clean checkout.
_NOT_SOURCES = shutil.ignore_patterns("__pycache__", "deployments", "venv")


def mb(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB" if size >= 1024 * 1024 else f"{size / 1024:.0f} KB"


def copy_app(destination: Path) -> None:
    """Without caches: the package a clean checkout builds, not this working copy's .pyc."""
    for name in APP_FILES:
        source, target = PROJECT_DIR / name, destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=_NOT_SOURCES)
        else:
            shutil.copy2(source, target)


def top_level_sizes(package: Path) -> Counter[str]:
    """Unzipped bytes per top-level entry; the wheels' *.dist-info metadata counted as one."""
    sizes: Counter[str] = Counter()
    with zipfile.ZipFile(package) as archive:
        for entry in archive.infolist():
            top = entry.filename.split("/", 1)[0]
            sizes["*.dist-info" if top.endswith(".dist-info") else top] += entry.file_size
    return sizes


def run() -> list[Row]:
    chalice = Path(sys.executable).with_name("chalice")
    python = f"Python {platform.python_version()}"
    if sys.version_info[:2] != (3, 12):
        note = f"the venv runs {python}; Lambda's runtime here is python3.12"
        return [Row(SECTION, "chalice package", "skipped", note=note)]
    with tempfile.TemporaryDirectory(prefix="bench-package-") as directory:
        project, out = Path(directory, "project"), Path(directory, "out")
        copy_app(project)
        environment = {**os.environ, "AWS_DEFAULT_REGION": REGION}
        try:
            result = subprocess.run(
                [str(chalice), "package", str(out)],
                check=False,  # a failure is reported as a row, from its output
                cwd=project,
                env=environment,
                capture_output=True,
                text=True,
                timeout=900,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            return [Row(SECTION, "chalice package", "failed", note=f"{type(error).__name__}")]
        package = out / "deployment.zip"
        if result.returncode != 0 or not package.exists():
            last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
            return [
                Row(
                    SECTION,
                    "chalice package",
                    f"failed (exit {result.returncode})",
                    note=last[0][:300],
                )
            ]
        zipped = package.stat().st_size
        sizes = top_level_sizes(package)
    unzipped = sum(sizes.values())
    rows = [
        Row(
            SECTION,
            "deployment.zip: zipped / unzipped",
            f"{mb(zipped)} / {mb(unzipped)}",
            target="<= 50 / 250 MB (Lambda)",
            verdict=verdict(zipped <= ZIPPED_LIMIT and unzipped <= UNZIPPED_LIMIT),
            note=f"`chalice package` with {python} (.venv), wheels for Lambda's Linux",
            data={"zipped": zipped, "unzipped": unzipped},
        )
    ]
    for rank, (name, size) in enumerate(sizes.most_common(10), start=1):
        rows.append(
            Row(
                SECTION,
                f"largest #{rank}: {name}",
                mb(size),
                note=f"{size / unzipped:.0%} of unzipped",
                data={"name": name, "bytes": size},
            )
        )
    return rows
