"""The local stack as the benchmark runs it: `manage.py serve --port 0` in a child process, as
a user starts it (and as tests/e2e/local_stack.py does), on its own DynamoDB Local in a
temporary data folder or on an external endpoint (moto's server, for comparison); events
loaded straight into the tables; the stack's resident memory.

Every stack is stopped with SIGTERM (it prints `stopped`) and its temporary folder removed,
whatever happens in between.
"""

import dataclasses
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from bench.harness import REGION
from bench.report import PROJECT_DIR

_LISTENING = re.compile(r"API: (http://\S+)/api")
_DATABASE = re.compile(r"DynamoDB \((.*)\): (http://\S+)")
# Memory-backed: loading thousands of items is not fsync-bound there (about 5 ms an item on
# this VM's disk). Reads, and the memory of the processes, do not depend on where the files are.
TMPFS = Path("/dev/shm")
START_SECONDS = 120.0
STOP_SECONDS = 60.0


def scratch_dir(prefix: str, *, tmpfs: bool = False) -> Path:
    """A new temporary folder: on tmpfs if asked and there is one, else in the system's temp
    folder (on disk here, like the default .local/ of `make run`)."""
    root = TMPFS if tmpfs and TMPFS.is_dir() and os.access(TMPFS, os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix=prefix, dir=root))


def on_tmpfs(path: Path) -> bool:
    return path.is_relative_to(TMPFS)


@dataclass
class Stack:
    """A running `manage.py serve`: its API, its DynamoDB and its process."""

    process: "subprocess.Popen[str]"
    data_dir: Path
    base_url: str  # http://host:port (routes are under /api)
    dynamodb_url: str
    database: str  # what the stack says it runs on: "DynamoDB Local, …" or "external"
    startup_lines: list[str] = field(default_factory=list)
    stop_output: str = ""

    @property
    def pid(self) -> int:
        return self.process.pid

    def dynamodb(self) -> Any:
        """A client of the stack's DynamoDB, for looking at what it stored."""
        return dynamodb_client(self.dynamodb_url)


def dynamodb_client(url: str) -> Any:
    from botocore.config import Config

    return boto3.session.Session().client(
        "dynamodb",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(max_pool_connections=16, retries={"mode": "standard"}),
    )


@contextmanager
def local_stack(
    data_dir: Path, *, endpoint: str | None = None, keep_data_dir: bool = False
) -> Iterator[Stack]:
    """`manage.py serve --port 0 --data-dir DATA_DIR`: on its own DynamoDB Local (a free port)
    or, with `endpoint`, on that DynamoDB. On the way out: SIGTERM, wait for `stopped`, and
    remove `data_dir` (unless `keep_data_dir`)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    environment.update(DYNAMODB_PORT="0", PYTHONUNBUFFERED="1")
    if endpoint is not None:
        environment["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint
    command = [sys.executable, "manage.py", "serve", "--port", "0", "--data-dir", str(data_dir)]
    process: subprocess.Popen[str] | None = None
    stack: Stack | None = None
    try:
        process = subprocess.Popen(
            command,
            cwd=PROJECT_DIR,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        stack = _wait_until_listening(process, data_dir)
        yield stack
    finally:
        if process is not None:
            output, clean = _stop(process)
            if stack is not None:
                stack.stop_output = output
            if not clean:
                print(
                    f"  ⚠ local stack (pid {process.pid}) did not stop cleanly: "
                    f"exit {process.returncode}, printed {output.strip()[-200:]!r}",
                    file=sys.stderr,
                )
        if not keep_data_dir:
            shutil.rmtree(data_dir, ignore_errors=True)


def _wait_until_listening(process: "subprocess.Popen[str]", data_dir: Path) -> Stack:
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + START_SECONDS
    database: tuple[str, str] | None = None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"the local stack exited while starting: {lines[-5:]}")
        lines.append(line.rstrip("\n"))
        if (found := _DATABASE.search(line)) is not None:
            database = found[1], found[2]
        if (listening := _LISTENING.search(line)) is not None:
            if database is None:
                raise RuntimeError(f"the local stack named no DynamoDB: {lines[-5:]}")
            return Stack(
                process,
                data_dir,
                base_url=listening[1],
                dynamodb_url=database[1],
                database=database[0],
                startup_lines=lines,
            )
    raise TimeoutError(f"the local stack did not start in {START_SECONDS:.0f} s: {lines[-5:]}")


def _stop(process: "subprocess.Popen[str]") -> tuple[str, bool]:
    """SIGTERM, as a process manager would; a stack that does not stop in time is killed
    (its DynamoDB Local dies with it: the kernel kills the child of a dead stack)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        output, _ = process.communicate(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        return output or "", False
    output = output or ""
    return output, process.returncode == 0 and "stopped" in output


# Events loaded straight into the tables.

BENCH_DEPARTMENT = "dept-bench"
BENCH_DEPARTMENT_NAME = "처리량 측정"
_LOADED_AT = "2024-01-01T00:00:00.000Z"


def load_department(url: str, events: int) -> str:
    """Create the project's tables at `url` with their streams off and put one department
    holding `events` events into them with BatchWriteItem (its counter and name claim
    included, as the API would have left them). Returns the department's id.

    With the streams off nothing is left for a stack's stream consumer to work through: the
    stack started afterwards turns the streams on (create-tables adopts the tables), so the
    measurement that follows competes with no auditing of the load."""
    from chalicelib.dynamo import BATCH_WRITE_LIMIT, batch_write, to_item
    from chalicelib.models import department_name_key
    from chalicelib.settings import Settings
    from chalicelib.tables import table_definitions

    settings = Settings.from_environ()
    client = dynamodb_client(url)
    definitions = table_definitions(settings)
    for definition in definitions:
        quiet = dataclasses.replace(definition, stream=False)
        client.create_table(**quiet.create_table_request())
    for definition in definitions:
        client.get_waiter("table_exists").wait(
            TableName=definition.name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 300}
        )
    stamps = {
        "created_at": _LOADED_AT,
        "updated_at": _LOADED_AT,
        "version": 1,
        "created_by": "bench",
        "updated_by": "bench",
    }
    department = {
        "id": BENCH_DEPARTMENT,
        "name": BENCH_DEPARTMENT_NAME,
        "description": "",
        **stamps,
        "event_count": events,
    }
    claim = {
        "name_key": department_name_key(BENCH_DEPARTMENT_NAME),
        "department_id": BENCH_DEPARTMENT,
    }
    requests: list[tuple[str, dict[str, Any]]] = [
        (settings.departments_table, department),
        (settings.department_names_table, claim),
    ]
    for n in range(events):
        event = {
            "id": f"event-{n:05d}",
            "department_id": BENCH_DEPARTMENT,
            # A year of dates, several events a day, as a busy department has.
            "event_date": f"2024-{n % 12 + 1:02d}-{n // 12 % 28 + 1:02d}",
            "title": f"일정 {n}",
            "time": f"{9 + n % 9}:00",
            "description": f"벤치마크 일정 {n}: 회의실 예약과 준비물 안내",
            **stamps,
        }
        requests.append((settings.events_table, event))
    for start in range(0, len(requests), BATCH_WRITE_LIMIT):
        chunk: dict[str, list[Any]] = {}
        for table, item in requests[start : start + BATCH_WRITE_LIMIT]:
            chunk.setdefault(table, []).append({"PutRequest": {"Item": to_item(item)}})
        if not batch_write(client, chunk):
            raise RuntimeError(f"loading the events: a batch at {start} was not written")
    return BENCH_DEPARTMENT


@contextmanager
def dynamodb_local_with_department(events: int) -> Iterator[tuple[Path, str]]:
    """A tmpfs data folder whose DynamoDB Local database holds the loaded department:
    (data_dir, department_id). DynamoDB Local is started for the load and stopped again; the
    stack started on the folder then finds its database there (and adds no sample data)."""
    from ops.dynamodb_local import DynamoDBLocal

    data_dir = scratch_dir("bench-dynamodb-local-", tmpfs=True)
    try:
        with DynamoDBLocal(data_dir, port=0) as dynamodb:
            department_id = load_department(dynamodb.url, events)
        yield data_dir, department_id
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


@contextmanager
def moto_with_department(events: int) -> Iterator[tuple[str, str]]:
    """moto's server in this process (tests/moto_server.py) holding the loaded department:
    (url, department_id)."""
    from tests.moto_server import MotoServer

    with MotoServer() as server:
        yield server.url, load_department(server.url, events)


# Memory.


@dataclass(frozen=True)
class Memory:
    """Resident memory (VmRSS) of the stack's processes, in bytes, by name."""

    processes: dict[str, int]
    peaks: dict[str, int]  # VmHWM: the most each was ever resident

    @property
    def total(self) -> int:
        return sum(self.processes.values())

    def breakdown(self) -> str:
        return " + ".join(f"{name} {mb(size)}" for name, size in self.processes.items())


def mb(size: float) -> str:
    return f"{size / 2**20:.0f} MB"


def _status(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text("utf-8").splitlines()
    return dict(line.split(":", 1) for line in lines if ":" in line)


def _kib(value: str) -> int:
    number, unit = value.split()
    assert unit == "kB", unit
    return int(number) * 1024


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (from /proc/<pid>/stat of every process)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text("utf-8")
        except OSError:
            continue  # ended meanwhile
        # "pid (comm) state ppid …": comm may hold spaces and parentheses.
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    stat = Path(f"/proc/{pid}/stat").read_text("utf-8")
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stack_cpu(pid: int) -> dict[str, float]:
    """CPU seconds used so far by the stack's Python process and by its children."""
    return {"python": cpu_seconds(pid), "children": sum(map(cpu_seconds, children(pid)))}


def stack_memory(pid: int) -> Memory:
    """The stack's Python process and its DynamoDB Local child (Java)."""
    processes: dict[str, int] = {}
    peaks: dict[str, int] = {}
    for number in [pid, *children(pid)]:
        status = _status(number)
        name = "python" if number == pid else status["Name"].strip()
        processes[name] = processes.get(name, 0) + _kib(status["VmRSS"])
        peaks[name] = peaks.get(name, 0) + _kib(status["VmHWM"])
    return Memory(processes, peaks)
