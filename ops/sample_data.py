"""The sample data set the embedded local stack starts with (data/*.json)."""

import json
from pathlib import Path

from chalicelib.context import Context
from chalicelib.models import DepartmentCreate, EventCreate

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


def load_sample_data(context: Context, data_dir: Path = DATA_DIR) -> tuple[int, int]:
    """Create the sample departments and events through the repositories, as the API would.
    Returns (departments, events) created."""
    departments = json.loads((data_dir / "departments.json").read_text(encoding="utf-8-sig"))
    events = json.loads((data_dir / "events.json").read_text(encoding="utf-8-sig"))
    new_ids: dict[str, str] = {}
    for record in departments:
        department = DepartmentCreate(
            name=record["name"], description=record.get("description", "")
        )
        new_ids[record["id"]] = context.departments.create(department, actor="sample-data").id
    for record in events:
        event = EventCreate(
            event_date=record["event_date"],
            title=record["title"],
            time=record.get("time", ""),
            description=record.get("description", ""),
        )
        context.events.create(new_ids[record["department_id"]], event, actor="sample-data")
    return len(departments), len(events)
