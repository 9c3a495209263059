"""The deploy files say what the code does: the server command in deploy/kuberay/server.yaml
parses with this CLI, and its flags pass the checks that need no files on this machine."""

from __future__ import annotations

import shlex
from pathlib import Path

import yaml

from bridge.cli import _parser
from bridge.cli_checks import _check_executor, retention_policy

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


def _serve_argv() -> list[str]:
    for document in yaml.safe_load_all((DEPLOY / "kuberay" / "server.yaml").read_text()):
        if document and document.get("kind") == "Deployment":
            script = document["spec"]["template"]["spec"]["containers"][0]["args"][0]
            return shlex.split(script.split("exec distill-bridge ", 1)[1])
    raise AssertionError("no Deployment in server.yaml")


def test_the_kuberay_server_command_parses_and_passes_the_flag_checks():
    args = _parser().parse_args(_serve_argv())
    _check_executor(args)
    assert args.executor == "ray" and args.ray_address == "auto"
    assert retention_policy(args).enabled
