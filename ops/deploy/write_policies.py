"""Write .chalice/policy-<stage>-api.json, -streams.json and -schedules.json from the table
definitions."""

import json
from pathlib import Path

from ops.deploy.policies import api_policy, schedules_policy, streams_policy
from ops.deploy.stage import PROJECT_DIR, STAGES, load_config, stage_settings, stage_traces


def policy_files(stage: str) -> dict[Path, str]:
    """Each policy file of the stage and the text it must hold."""
    config = load_config()
    settings = stage_settings(stage, config)
    tracing = stage_traces(config, stage)
    chalice_dir = PROJECT_DIR / ".chalice"
    return {
        chalice_dir / f"policy-{stage}-api.json": _text(api_policy(settings, tracing=tracing)),
        chalice_dir / f"policy-{stage}-streams.json": _text(
            streams_policy(settings, stage, tracing=tracing)
        ),
        chalice_dir / f"policy-{stage}-schedules.json": _text(
            schedules_policy(settings, tracing=tracing)
        ),
    }


def write_policies(stages: tuple[str, ...] = STAGES) -> list[Path]:
    """Write every stage's policies; returns the files that changed."""
    changed = []
    for stage in stages:
        for path, text in policy_files(stage).items():
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")
                changed.append(path)
    return changed


def _text(policy: object) -> str:
    return json.dumps(policy, indent=2) + "\n"
