"""Environment → typed settings. Read once per Lambda container (the environment is fixed there)."""

import os
from dataclasses import dataclass
from functools import cache

DEFAULT_REGION = "ap-northeast-2"


@dataclass(frozen=True)
class Settings:
    region: str
    departments_table: str
    events_table: str
    department_names_table: str

    @classmethod
    def from_environ(cls, environ: dict[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        return cls(
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or DEFAULT_REGION,
            departments_table=env.get("DEPARTMENTS_TABLE") or "departments",
            events_table=env.get("EVENTS_TABLE") or "events",
            department_names_table=env.get("DEPARTMENT_NAMES_TABLE") or "departments-names",
        )


@cache
def get_settings() -> Settings:
    return Settings.from_environ()
