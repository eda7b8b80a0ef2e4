"""Every AWS CLI command of the guide, run against one applied stack on moto (deploy.guide_cli)."""

import json
from pathlib import Path

import pytest

from deploy import guide_cli, guide_cli_doc, stack
from deploy.aws.cli import cli, run_lines
from deploy.aws.names import DEFAULT_NAMES as N
from deploy.guide import GuideDataError, load
from deploy.guide.schema import CliCommands
from deploy.resources import secrets

# One worker runs this module: the whole list runs once, on one stack, and the tests read it.
pytestmark = pytest.mark.xdist_group("deploy-guide-cli")

LISTED = guide_cli.commands()
DOC = Path(__file__).resolve().parents[2] / "docs" / "guide-cli.md"


@pytest.fixture(scope="module")
def results(moto_backend, tmp_path_factory) -> dict[str, guide_cli.Result]:
    """Apply the stack on an emptied moto account and run every command of the list once."""
    moto_backend.reset()
    workdir = tmp_path_factory.mktemp("guide-cli")
    return guide_cli.apply_and_run(moto_backend.ctx, N, workdir, LISTED)


def _ids(status: str) -> list[str]:
    return [e.id for e in LISTED.commands if e.status == status and e.when != "never"]


def _failed(results, ids: list[str]) -> dict[str, str]:
    return {
        i: f"exit {results[i].outcome.exit_code}: {results[i].outcome.stderr[-300:]}"
        for i in ids
        if not results[i].outcome.ok
    }


def test_each_as_written_command_exits_0_on_moto(results):
    assert _failed(results, _ids("as-written")) == {}


def test_each_fix_exits_0_on_moto(results):
    assert _failed(results, _ids("with-fix")) == {}


def test_the_guide_forms_marked_broken_go_wrong_as_the_list_says(results):
    broken = [e for e in LISTED.commands if e.broken]
    assert len(broken) >= 8
    for entry in broken:
        written = results[entry.id].as_written
        assert written is not None, entry.id
        if entry.broken == "fails":
            assert not written.ok, (entry.id, written.stdout[:200])
        else:  # prints null: it runs, and shows nothing
            assert written.ok and not written.useful, (entry.id, written.stdout[:200])


def test_what_is_never_run_says_why_and_the_rest_ran(results):
    for entry in LISTED.commands:
        ran = results[entry.id].outcome is not None
        assert ran == (entry.when != "never"), entry.id
    assert all(e.status == "real-aws-only" for e in LISTED.commands if e.when == "never")


def test_the_page_is_what_the_generator_writes(results):
    page = guide_cli_doc.markdown(LISTED, results)
    assert DOC.read_text() == page, (
        "docs/guide-cli.md is stale: python -m deploy.guide_cli_doc --write docs/guide-cli.md"
    )
    assert guide_cli_doc.summary(LISTED) in page


def test_the_list_is_every_distinct_command_of_the_guide():
    if not guide_cli.GUIDE.exists():
        pytest.skip(f"the guide is not beside the project ({guide_cli.GUIDE})")
    found = guide_cli.extract(guide_cli.GUIDE.read_text())
    listed = [(e.guide_line, e.section, e.command) for e in LISTED.commands]
    assert listed == found


def test_update_secret_as_written_drops_the_keys_it_leaves_out(aws, ctx, tmp_path):
    stack.apply(ctx, N, target="secrets")
    entry = next(e for e in LISTED.commands if e.command.startswith("aws secretsmanager update"))
    outcome = run_lines(entry.command, ctx.environment(), tmp_path, 20)
    assert outcome.ok, outcome.stderr
    value = ctx.client("secretsmanager").get_secret_value(SecretId=N.secret)["SecretString"]
    assert "LANGCHAIN_API_KEY" in secrets.SECRET_KEYS
    assert "LANGCHAIN_API_KEY" not in json.loads(value)


def test_a_call_that_outlives_its_timeout_is_killed(aws, ctx, tmp_path):
    stack.apply(ctx, N, target="ecs")  # an ACTIVE service: services-inactive waits 15 s a poll
    args = ["ecs", "wait", "services-inactive", "--cluster", N.cluster, "--services", N.service]
    outcome = cli(args, ctx.environment(), tmp_path, timeout=1.0)
    assert outcome.exit_code is None and outcome.seconds < 5


def _write(tmp_path: Path, data: dict) -> Path:
    (tmp_path / "cli_commands.yaml").write_text(json.dumps(data))
    return tmp_path


def _context() -> dict:
    return {"placeholders": set(guide_cli.PLACEHOLDERS), "files": set(guide_cli.FILES)}


def test_a_fix_naming_an_unknown_placeholder_is_refused(tmp_path):
    data = LISTED.model_dump(mode="json", exclude_defaults=True)
    fixed = next(c for c in data["commands"] if "fix" in c)
    fixed["fix"] = "aws ecs describe-services --cluster ${clutser}"
    with pytest.raises(GuideDataError, match="clutser"):
        load("cli_commands", CliCommands, directory=_write(tmp_path, data), context=_context())


def test_a_with_fix_command_needs_its_fix_and_known_files(tmp_path):
    data = LISTED.model_dump(mode="json", exclude_defaults=True)
    fixed = next(c for c in data["commands"] if c["status"] == "with-fix")
    del fixed["fix"]
    with pytest.raises(GuideDataError, match="needs its fix"):
        load("cli_commands", CliCommands, directory=_write(tmp_path, data), context=_context())
    data = LISTED.model_dump(mode="json", exclude_defaults=True)
    plain = next(c for c in data["commands"] if c["status"] == "as-written")
    plain["command"] += " --cli-input-json file://missing.json"
    with pytest.raises(GuideDataError, match=r"missing\.json"):
        load("cli_commands", CliCommands, directory=_write(tmp_path, data), context=_context())
