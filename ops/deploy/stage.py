"""A stage's configuration, read from (and written back to) .chalice/config.json."""

import json
import os
from pathlib import Path
from typing import Any

from chalicelib.settings import Settings, variable, variables

PROJECT_DIR = Path(__file__).resolve().parents[2]
CONFIG_PATH = PROJECT_DIR / ".chalice" / "config.json"
STAGES = ("dev", "prod")
STREAM_ARN_VARIABLES = {
    "events": variable("events_stream_arn"),
    "departments": variable("departments_stream_arn"),
    "notifications": variable("notifications_stream_arn"),
}


def load_config(path: Path = CONFIG_PATH) -> dict[str, Any]:
    return dict(json.loads(path.read_text(encoding="utf-8")))


def save_config(config: dict[str, Any], path: Path = CONFIG_PATH) -> None:
    path.write_text(json.dumps(config, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def stage_environment(config: dict[str, Any], stage: str) -> dict[str, str]:
    """The environment Chalice gives the stage's functions: top level, then the stage's own."""
    if stage not in config.get("stages", {}):
        raise ValueError(f"no stage '{stage}' in .chalice/config.json (have: {', '.join(STAGES)})")
    return {
        **config.get("environment_variables", {}),
        **config["stages"][stage].get("environment_variables", {}),
    }


def stage_traces(config: dict[str, Any], stage: str) -> bool:
    """Whether Chalice sets the stage up for X-Ray (`"xray": true`, stage or top level):
    Lambda active tracing on its functions and tracing on its API Gateway stage."""
    stage_config = config.get("stages", {}).get(stage, {})
    return bool(stage_config.get("xray", config.get("xray", False)))


def stage_settings(stage: str, config: dict[str, Any] | None = None) -> Settings:
    """Settings as the stage's Lambda functions will see them (region from this shell).
    Building them refuses an unsafe combination (UnsafeConfiguration) before anything is
    deployed."""
    environment = stage_environment(config or load_config(), stage)
    region = {k: v for k, v in os.environ.items() if k in variables("region")}
    return Settings.from_environ({**region, **environment})


def write_stream_arns(stage: str, arns: dict[str, str], path: Path = CONFIG_PATH) -> bool:
    """Record the tables' stream ARNs as the stage's environment variables, where the Chalice
    CLI reads them before importing app.py. True if the file changed."""
    config = load_config(path)
    variables = config["stages"][stage].setdefault("environment_variables", {})
    changed = False
    for role, arn in arns.items():
        name = STREAM_ARN_VARIABLES[role]
        if variables.get(name) != arn:
            variables[name] = arn
            changed = True
    if changed:
        save_config(config, path)
    return changed
