"""The README is true: its Python blocks run, and every CLI flag and make target its shell
blocks name exists. (Its Java blocks are compiled against the client by java-client's
ReadmeSnippetsTest.)"""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

import pytest

from bridge.cli import _parser

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.M | re.S)


def _blocks(language: str) -> list[tuple[int, str]]:
    """(line number, text) of every block in `language`."""
    return [
        (README.count("\n", 0, m.start()) + 1, m.group(2))
        for m in BLOCK.finditer(README)
        if m.group(1) == language
    ]


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_the_readme_has_the_blocks_these_tests_read():
    assert len(_blocks("python")) >= 2 and len(_blocks("bash")) >= 3


@pytest.mark.parametrize("line, code", _blocks("python"), ids=lambda v: str(v)[:12])
def test_python_blocks_run(line, code, home, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DISTILL_BRIDGE_HOME", str(home))
    monkeypatch.chdir(tmp_path)  # blocks download artifacts to relative paths
    try:
        exec(compile(code, f"README.md:{line}", "exec"), {"__name__": "readme"})
    except Exception as e:  # the README line is what a reader needs
        raise AssertionError(f"README.md block at line {line} failed: {e!r}") from e
    assert capsys.readouterr().out.strip(), "a README example prints what it shows"


def _shell_commands() -> list[tuple[int, list[str]]]:
    commands = []
    for line, block in _blocks("bash"):
        text = block.replace("\\\n", " ")
        for offset, command in enumerate(text.splitlines()):
            command = command.split("#")[0].replace("[", " ").replace("]", " ")
            words = shlex.split(command.replace(">", " "))
            if words:
                commands.append((line + offset, words))
    return commands


def test_every_cli_flag_the_readme_names_exists():
    subcommands = _subcommands()
    checked = 0
    for line, words in _shell_commands():
        if not words[0].endswith("distill-bridge"):
            continue
        sub = subcommands.get(words[1])
        assert sub is not None, f"README.md:{line}: no subcommand {words[1]!r}"
        for word in words[2:]:
            flag = word.split("=")[0]
            if flag.startswith("--"):
                assert flag in sub._option_string_actions, f"README.md:{line}: {flag}"
                checked += 1
    assert checked >= 20


def test_every_make_target_the_readme_names_exists():
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([\w-]+):", makefile, re.M))
    named = [(line, w[1]) for line, w in _shell_commands() if w[0] == "make" and len(w) > 1]
    assert len(named) >= 8
    for line, target in named:
        assert target in targets, f"README.md:{line}: make {target}"


def test_the_readme_distill_command_line_validates(home, monkeypatch, capsys):
    """The first `distill` example, checked with --dry-run (flags parse, the spec is valid)."""
    from bridge.cli import main

    monkeypatch.setenv("DISTILL_BRIDGE_HOME", str(home))
    words = next(w for _, w in _shell_commands() if w[:2][-1] == "distill" and "--teacher" in w)
    argv = [w for w in words[1:] if w not in ("--remote", "localhost:50051", "--plaintext")]
    argv = argv[: argv.index("--out")] + ["--dry-run"]
    assert main(argv) == 0, capsys.readouterr().err
    assert '"reference": "digits-mlp"' in capsys.readouterr().out
