"""Operations CLI: `python manage.py COMMAND`; `--help` lists every command, one line each.

Loads `.env` (local settings, never used by the Lambda code) and turns the failures an operator
can fix into one line that says what to do.
"""

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from dotenv import load_dotenv


class _CommandsHelp(argparse.HelpFormatter):
    """argparse measures the commands' names without the indentation it lists them with, so the
    longest names would get a line of their own, their help pushed to the next one."""

    def add_argument(self, action: argparse.Action) -> None:
        super().add_argument(action)
        if action.nargs == argparse.PARSER:
            self._action_max_length += self._indent_increment


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="manage.py", description=__doc__, formatter_class=_CommandsHelp
    )
    # Each help fits one line of an 80-column terminal (tests/unit/test_manage_help.py).
    commands = parser.add_subparsers(
        dest="command", required=True, title="commands", metavar="COMMAND"
    )
    commands.add_parser("create-tables", help="create or adopt the project's tables")
    serve = commands.add_parser("serve", help="run the local stack: DynamoDB Local + the API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    serve.add_argument(
        "--dynamodb-port",
        type=int,
        default=None,
        help="DynamoDB Local's port (default: DYNAMODB_PORT, else 8001; 0 picks a free one)",
    )
    serve.add_argument(
        "--stage",
        default="local",
        help="a .chalice/config.json stage whose settings to use (default: none, the guide's "
        "table names)",
    )
    serve.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="where DynamoDB Local keeps its database (default: DATA_DIR, else .local/)",
    )
    serve.add_argument(
        "--fresh", action="store_true", help="empty the database and load the sample data"
    )
    worker = commands.add_parser(
        "stream-worker", help="run the stream handlers on the configured DynamoDB"
    )
    worker.add_argument("--stage", default="dev", help="the .chalice/config.json stage")
    worker.add_argument(
        "--from",
        dest="start_at",
        choices=["trim-horizon", "latest"],
        default="trim-horizon",
        help="where to start a shard that has no checkpoint yet (default: its oldest record)",
    )
    worker.add_argument(
        "--lease-seconds",
        type=float,
        default=10.0,
        help="how long a shard stays with a worker that stopped renewing its lease",
    )
    worker.add_argument("--owner", help="this worker's name in the leases (default: host:pid)")
    migrate = commands.add_parser(
        "migrate", help="copy legacy JSON files into the tables, verified"
    )
    migrate.add_argument("--departments", type=Path, help="legacy departments JSON file")
    migrate.add_argument("--events", type=Path, help="legacy events JSON file")
    migrate.add_argument("--dry-run", action="store_true", help="validate and report only")
    migrate.add_argument("--rejects", type=Path, help="write rejected records here (JSON lines)")
    migrate.add_argument(
        "--overwrite", action="store_true", help="replace items that already exist"
    )
    deploy = commands.add_parser(
        "deploy", help="deploy a stage: tables, chalice deploy, stream mappings"
    )
    deploy.add_argument("--stage", required=True, choices=["dev", "prod"])
    deploy.add_argument(
        "--skip-chalice", action="store_true", help="only the steps around chalice deploy"
    )
    package = commands.add_parser("package", help="build a stage's SAM template and zip")
    package.add_argument("--stage", required=True, choices=["dev", "prod"])
    package.add_argument("--out", type=Path, help="output folder (default: build/STAGE)")
    package.add_argument(
        "--keep-retired-indexes",
        action="store_true",
        help="keep the indexes this version replaced (the first update of an earlier stack)",
    )
    feed = commands.add_parser(
        "feed-backfill",
        help="list the last hour's changes in the department feed",
    )
    feed.add_argument("--stage", required=True, choices=["dev", "prod"])
    calendar = commands.add_parser(
        "calendar-backfill",
        help="give every event from before the calendar index its key",
    )
    calendar.add_argument("--stage", required=True, choices=["dev", "prod"])
    commands.add_parser("policies", help="regenerate .chalice/policy-*.json from the tables")
    backup = commands.add_parser("backup", help="back up a stage's tables (or --list backups)")
    backup.add_argument("--stage", required=True, choices=["dev", "prod"])
    backup.add_argument("--list", action="store_true", help="list existing backups instead")
    commands.add_parser("recount", help="set each department's event counter from its events")
    export = commands.add_parser("export", help="write the tables to files migrate reads back")
    export.add_argument("--out", type=Path, required=True, help="folder to write into")
    client = commands.add_parser(
        "client-csharp", help="generate the API's C# client from its OpenAPI document"
    )
    client.add_argument(
        "--out",
        type=Path,
        default=Path("build/clients/csharp"),
        help="folder to write into, replacing an earlier client (default: build/clients/csharp)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "migrate" and not (args.departments or args.events):
        parser.error("migrate needs --departments PATH and/or --events PATH")

    load_dotenv(override=False)
    from chalicelib.settings import get_settings
    from ops import local_endpoint
    from ops.cli_errors import explain

    # True when the command would have used the local stack but found none and goes to AWS.
    no_local_stack = False
    if args.command in _LOCAL_STACK_TOOLS:
        url = local_endpoint.reach_running_stack()
        if url is not None:
            print(f"→ 실행 중인 로컬 스택의 DynamoDB: {url}", file=sys.stderr)
        no_local_stack = local_endpoint.configured_endpoint() is None
    local_endpoint.prepare_for_configured_endpoint()

    commands: dict[str, Callable[[argparse.Namespace], int]] = {
        "create-tables": _create_tables,
        "migrate": _migrate,
        "export": _export,
        "backup": _backup,
        "feed-backfill": _feed_backfill,
        "calendar-backfill": _calendar_backfill,
        "deploy": _deployment,
        "package": _deployment,
        "policies": _deployment,
        "stream-worker": _stream_worker,
        "serve": _serve,
        "recount": _recount,
        "client-csharp": _client_csharp,
    }
    try:
        return commands[args.command](args)
    except Exception as error:
        line = explain(error, get_settings().region, no_local_stack=no_local_stack)
        if line is None:
            raise
        print(f"✗ {line}", file=sys.stderr)
        return 1


# Commands that reach the running local stack when no DynamoDB endpoint is configured.
_LOCAL_STACK_TOOLS = frozenset({"create-tables", "migrate", "export", "recount"})


def _serve(args: argparse.Namespace) -> int:
    import os

    from ops.dynamodb_local import DEFAULT_PORT
    from ops.local_endpoint import data_dir_from_environ
    from ops.local_stack import serve

    dynamodb_port = args.dynamodb_port
    if dynamodb_port is None:
        setting = os.environ.get("DYNAMODB_PORT") or str(DEFAULT_PORT)
        if not setting.isdigit():
            print(f"✗ DYNAMODB_PORT는 포트 번호여야 합니다 (지금: {setting!r}).", file=sys.stderr)
            return 1
        dynamodb_port = int(setting)
    data_dir = args.data_dir or data_dir_from_environ()
    serve(
        args.host,
        args.port,
        stage=args.stage,
        data_dir=data_dir,
        fresh=args.fresh,
        dynamodb_port=dynamodb_port,
    )
    return 0


def _stream_worker(args: argparse.Namespace) -> int:
    from ops.local_stack import stream_worker

    start_at = args.start_at.upper().replace("-", "_")
    stream_worker(args.stage, start_at, args.owner, args.lease_seconds)
    return 0


def _create_tables(args: argparse.Namespace) -> int:
    from chalicelib.context import get_context
    from chalicelib.tables import table_definitions
    from ops.create_tables import ensure_tables

    context = get_context()
    ensure_tables(context.client, table_definitions(context.settings))
    return 0


def _deployment(args: argparse.Namespace) -> int:
    if args.command == "deploy":
        from ops.deploy.run import deploy

        deploy(args.stage, run_chalice=not args.skip_chalice)
    elif args.command == "package":
        from ops.deploy.package import package

        template = package(
            args.stage,
            args.out or Path("build") / args.stage,
            keep_retired=args.keep_retired_indexes,
        )
        print(f"✓ {template} (and deployment.zip beside it)")
    else:
        from ops.deploy.write_policies import write_policies

        for path in write_policies():
            print(f"✓ {path}")
    return 0


def _backup(args: argparse.Namespace) -> int:
    from chalicelib.dynamo import make_client
    from ops.backup import create_backups, list_backups
    from ops.deploy.stage import stage_settings

    settings = stage_settings(args.stage)
    client = make_client(settings)
    if args.list:
        list_backups(client, settings)
    else:
        create_backups(client, settings, args.stage)
    return 0


def _feed_backfill(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from chalicelib.dynamo import make_client
    from ops.deploy.replaced import list_recent_changes_in_feed
    from ops.deploy.stage import stage_settings

    settings = stage_settings(args.stage)
    listed = list_recent_changes_in_feed(make_client(settings), settings, datetime.now(UTC))
    print(f"✓ {settings.audit_table}: 최근 변경 {listed}건을 부서 피드에 넣었습니다.")
    return 0


def _calendar_backfill(args: argparse.Namespace) -> int:
    from chalicelib.dynamo import make_client
    from ops.calendar_backfill import file_events_in_calendar
    from ops.deploy.stage import stage_settings

    settings = stage_settings(args.stage)
    filed = file_events_in_calendar(make_client(settings), settings)
    print(f"✓ {settings.events_table}: 일정 {filed}개를 부서 달력 인덱스에 넣었습니다.")
    return 0


def _export(args: argparse.Namespace) -> int:
    from chalicelib.context import get_context
    from ops.export import export

    context = get_context()
    done = export(context.client, context.settings, args.out)
    print(
        f"✅ 내보내기 완료: 부서 {done.departments}개, 일정 {done.events}개, "
        f"감사 기록 {done.audit_entries}개, 알림 {done.notifications}개 → {args.out}"
    )
    return 0


def _recount(args: argparse.Namespace) -> int:
    from chalicelib.context import get_context
    from ops.recount import recount

    context = get_context()
    outcome = recount(context.client, context.settings)
    print(f"✅ 부서 {outcome.checked}개를 확인했습니다: 일정 수 {outcome.fixed}개를 고쳤습니다.")
    if outcome.unsettled:
        print(
            f"⚠ 일정이 계속 바뀌는 부서 {len(outcome.unsettled)}개는 세지 못했습니다: "
            f"{', '.join(outcome.unsettled)}. 잠시 후 다시 실행하세요.",
            file=sys.stderr,
        )
        return 1
    return 0


def _client_csharp(args: argparse.Namespace) -> int:
    from app import app
    from chalicelib.api.openapi import build_document
    from ops.client_csharp import PACKAGE_NAME, TARGET_FRAMEWORK, generate_csharp_client

    out = generate_csharp_client(build_document(app), args.out)
    print(f"✓ C# 클라이언트 ({PACKAGE_NAME}, {TARGET_FRAMEWORK}): {out}")
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from chalicelib.context import get_context
    from ops.migration.run import migrate

    context = get_context()
    outcome = migrate(
        context.client,
        context.settings,
        departments_path=args.departments,
        events_path=args.events,
        dry_run=args.dry_run,
        overwrite=args.overwrite,
        rejects_path=args.rejects,
    )
    return outcome.exit_code


if __name__ == "__main__":
    sys.exit(main())
