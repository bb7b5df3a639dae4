"""Pytest plugin: every response status the OpenAPI document promises is produced by some test.

Every answer that goes through chalice.test.Client (tests/conftest.py's `local_client`) is
recorded as (method, route, status). When the whole suite has run, each documented (operation,
status) that no test produced is listed and the run fails. A run of selected tests (paths, -k,
--lf, …) cannot tell, so it is not checked. The order tests run in does not matter: the check
only looks at the set of answers seen by the end.
"""

from pathlib import Path
from typing import Any

import pytest
from chalice.app import Chalice
from chalice.config import Config
from chalice.local import RouteMatcher
from chalice.test import Client, HTTPResponse, TestHTTPClient

from ops.gateway import AppGateway

# What the suite always leaves out (pyproject's addopts), which still counts as the whole suite.
_EXCLUDED_BY_DEFAULT = "other_dynamodb"

_answers: set[tuple[str, str, int]] = set()
_problems: list[str] = []


class RecordingClient(Client):
    """chalice.test.Client whose HTTP answers count towards the contract coverage check."""

    @property
    def http(self) -> TestHTTPClient:
        if self._http_client is None:
            self._http_client = _RecordingHTTPClient(self._app, self._chalice_config)
        return self._http_client


class _RecordingHTTPClient(TestHTTPClient):
    def __init__(self, app: Chalice, config: Config) -> None:
        super().__init__(app, config)
        # A path no route has answers the app's 404, as the local server and API Gateway (with
        # the packaged template's gateway responses) answer it, not API Gateway's default 403.
        self._local_gateway = AppGateway(app, config)

    def request(
        self,
        method: str,
        path: str,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
    ) -> HTTPResponse:
        response = super().request(method, path, headers=headers, body=body)
        route = _route(self._app, path)
        if route is not None:
            _answers.add((method.upper(), route, response.status_code))
        return response


def _route(app: Chalice, path: str) -> str | None:
    try:
        return RouteMatcher(list(app.routes)).match_route(path).route
    except ValueError:  # no such route: the gateway's 404 (ops/gateway.py), no operation's
        return None


def recorded() -> frozenset[tuple[str, str, int]]:
    """Every (method, route, status) answered so far in this run."""
    return frozenset(_answers)


def missing_statuses(
    document: dict[str, Any], answers: frozenset[tuple[str, str, int]]
) -> list[str]:
    """Each documented (operation, status) with no answer among `answers`, readably."""
    missing = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status in operation["responses"]:
                if (method.upper(), path, int(status)) not in answers:
                    missing.append(f"{operation['operationId']} ({method.upper()} {path}) {status}")
    return missing


class _WholeSuite:
    """Whether this run is the whole suite: the configured test paths, nothing deselected
    beyond what is always excluded."""

    def __init__(self) -> None:
        self.narrowed = False

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        if any(item.get_closest_marker(_EXCLUDED_BY_DEFAULT) is None for item in items):
            self.narrowed = True

    def ran(self, session: pytest.Session) -> bool:
        config = session.config
        if config.args_source != pytest.Config.ArgsSource.TESTPATHS:
            testpaths = {Path(config.rootpath, p).resolve() for p in config.getini("testpaths")}
            given = {Path(config.invocation_params.dir, a).resolve() for a in config.args}
            if given != testpaths:
                return False
        # Collecting, or setting fixtures up without running tests, produces no answers.
        dry_run = config.option.collectonly or config.option.setuponly or config.option.setupplan
        return not (self.narrowed or dry_run or session.shouldstop or session.shouldfail)


_whole_suite = _WholeSuite()


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(_whole_suite, "contract-coverage-selection")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if exitstatus not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        return
    if not _whole_suite.ran(session):
        return
    from app import app
    from chalicelib.api.openapi import build_document

    _problems.extend(missing_statuses(build_document(app), recorded()))
    if _problems:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _problems:
        return
    terminalreporter.section("contract coverage", sep="=", red=True, bold=True)
    terminalreporter.line(
        f"FAILED: {len(_problems)} documented response(s) that no test produced "
        "(through chalice.test.Client):",
        red=True,
    )
    for problem in _problems:
        terminalreporter.line(f"  {problem}")
