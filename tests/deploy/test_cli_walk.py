"""`workbook stack walk`: the stack one resource at a time, as chapter 15 walks it."""

import pytest
from typer.testing import CliRunner

from deploy import cli, stack, walkthrough
from deploy.aws.names import DEFAULT_NAMES as N

runner = CliRunner()


@pytest.fixture
def exported(aws, ctx, monkeypatch):
    """Export the test's moto server, as `workbook stack emulator` tells a learner to."""
    for key, value in ctx.environment().items():
        monkeypatch.setenv(key, value)
    return ctx


def test_one_step_prints_its_cost_changes_and_checkpoint(exported):
    result = runner.invoke(cli.app, ["walk", "secrets"])
    assert result.exit_code == 0, result.output
    assert "step 2/" in result.output and "cost: adds $" in result.output
    assert f"create secret {N.secret}" in result.output
    assert "look: $ aws secretsmanager" in result.output and "checked (moto)" in result.output
    again = runner.invoke(cli.app, ["walk", "secrets"])
    assert "changed: nothing (already as wanted)" in again.output


def test_the_whole_walk_leaves_what_apply_would_make(exported):
    result = runner.invoke(cli.app, ["walk"])
    assert result.exit_code == 0, result.output
    assert result.output.count("checked (moto)") >= len(walkthrough.order())
    pending = [c for c in stack.plan(exported, N).changes if c.action != "unchanged"]
    assert not [c for c in pending if c.kind != "vpc"], pending


def test_an_unknown_step_is_refused_naming_the_steps(exported):
    result = runner.invoke(cli.app, ["walk", "cluster"])
    assert result.exit_code == 2
    assert "unknown walk-through step 'cluster'" in result.output and "ecs" in result.output
