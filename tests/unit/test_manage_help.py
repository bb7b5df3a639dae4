"""`manage.py --help`: the first thing a newcomer runs lists every command, one line each."""

import argparse
import re

import pytest

import manage


def subcommands(parser: argparse.ArgumentParser) -> list[str]:
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return list(action.choices)


def test_help_lists_every_command_the_parser_has_each_on_one_line(capsys, monkeypatch):
    # Given an 80-column terminal
    monkeypatch.setenv("COLUMNS", "80")
    # When a newcomer asks for help
    with pytest.raises(SystemExit) as exit_:
        manage.main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    # Then the commands section names every subcommand, in order, each with its help beside it
    section = out.split("\ncommands:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert section[0].strip() == "COMMAND"
    listed = [re.fullmatch(r"    (\S+) {2,}\S.*", line) for line in section[1:]]
    assert all(listed), section
    assert [m.group(1) for m in listed if m] == subcommands(manage._parser())
    assert all(len(line) <= 80 for line in out.splitlines())
