"""Operations CLI: `python manage.py create-tables | serve | stream-worker`.

Loads `.env` (local settings, never used by the Lambda code) and turns the failures an operator
can fix into one line that says what to do.
"""

import argparse
import sys
from collections.abc import Sequence

from dotenv import load_dotenv


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="manage.py", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("create-tables", help="create or adopt the project's tables")
    serve = commands.add_parser("serve", help="the local stack (embedded DynamoDB + API)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    serve.add_argument("--stage", default="dev", help="the .chalice/config.json stage")
    worker = commands.add_parser(
        "stream-worker", help="run the stream handlers against the configured DynamoDB"
    )
    worker.add_argument("--stage", default="dev", help="the .chalice/config.json stage")
    worker.add_argument(
        "--from",
        dest="start_at",
        choices=["trim-horizon", "latest"],
        default="trim-horizon",
        help="where to start reading each shard (default: the oldest record kept, 24 h)",
    )
    args = parser.parse_args(argv)

    load_dotenv(override=False)
    from chalicelib.settings import get_settings
    from ops.cli_errors import explain

    try:
        if args.command == "create-tables":
            return _create_tables()
        if args.command == "stream-worker":
            from ops.local_stack import stream_worker

            stream_worker(args.stage, args.start_at.upper().replace("-", "_"))
            return 0
        from ops.local_stack import serve as serve_local

        serve_local(args.host, args.port, args.stage)
        return 0
    except Exception as error:
        line = explain(error, get_settings().region)
        if line is None:
            raise
        print(f"✗ {line}", file=sys.stderr)
        return 1


def _create_tables() -> int:
    from chalicelib.context import get_context
    from chalicelib.tables import table_definitions
    from ops.create_tables import ensure_tables

    context = get_context()
    ensure_tables(context.client, table_definitions(context.settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
