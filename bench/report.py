"""The one results table: rows from every section, printed and saved as Markdown and JSON."""

import json
import os
import platform
import statistics
import sys
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent

COLUMNS = ("section", "measure", "value", "baseline", "vs baseline", "target", "verdict", "note")


@dataclass
class Row:
    """One line of the table. `data` keeps the raw numbers for results.json."""

    section: str
    measure: str
    value: str
    baseline: str = ""
    versus: str = ""
    target: str = ""
    verdict: str = ""
    note: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def cells(self) -> list[str]:
        return [
            self.section,
            self.measure,
            self.value,
            self.baseline,
            self.versus,
            self.target,
            self.verdict,
            self.note,
        ]


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def ratio(value: float, baseline: float) -> str:
    return f"{value / baseline:.2f}x" if baseline else "n/a"


def percentile(samples: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile: small sample sets give a real observed value, not a blend."""
    ordered = sorted(samples)
    rank = max(1, round(fraction * len(ordered) + 0.5))
    return ordered[min(rank, len(ordered)) - 1]


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples)


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "executable": sys.executable,
    }


def _width(text: str) -> int:
    """Columns a terminal gives the text: Korean (wide) characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(rows: Sequence[Row]) -> str:
    grid = [list(COLUMNS)] + [[_escape(cell) for cell in row.cells()] for row in rows]
    widths = [max(_width(line[i]) for line in grid) for i in range(len(COLUMNS))]

    def line(cells: list[str]) -> str:
        padded = (
            cell + " " * (width - _width(cell)) for cell, width in zip(cells, widths, strict=True)
        )
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join("-" * (width + 2) for width in widths) + "|"
    return "\n".join([line(grid[0]), rule, *(line(cells) for cells in grid[1:])])


def heading(started: datetime, seconds: float, sections: Sequence[str]) -> str:
    info = machine()
    return (
        f"Python {info['python']} ({info['implementation']}) on {info['platform']}, "
        f"{info['cpu_count']} CPUs; {started:%Y-%m-%d %H:%M} UTC; "
        f"sections: {', '.join(sections)}; took {seconds:.0f} s"
    )


def save(
    rows: Sequence[Row], started: datetime, seconds: float, sections: Sequence[str]
) -> tuple[Path, Path]:
    title = heading(started, seconds, sections)
    markdown = BENCH_DIR / "results.md"
    markdown.write_text(
        "# Benchmark results\n\n"
        "Written by `make bench` (`python -m bench`); every value is measured next to its "
        "baseline in the same run. Timings are from this machine only.\n\n"
        f"{title}\n\n{markdown_table(rows)}\n",
        encoding="utf-8",
    )
    document = {
        "machine": machine(),
        "started": started.astimezone(UTC).isoformat(timespec="seconds"),
        "seconds": round(seconds, 1),
        "sections": list(sections),
        "rows": [asdict(row) for row in rows],
    }
    data = BENCH_DIR / "results.json"
    data.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return markdown, data
