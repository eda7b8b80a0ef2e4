"""`workbook stack ...` through typer's CliRunner against the test's moto account."""

import json
import threading

import pytest
from typer.testing import CliRunner

from deploy import cli, stack
from deploy.aws.names import DEFAULT_NAMES as N
from deploy.resources import ecr, logs

# One worker runs this module in file order, so the applied stack below is made once and
# shared by the tests that leave it as they found it (an apply is the slow step here).
pytestmark = pytest.mark.xdist_group("deploy-cli")

runner = CliRunner()


def run(*args: str, input: str | None = None):
    return runner.invoke(cli.app, list(args), input=input)


@pytest.fixture
def exported(aws, ctx, monkeypatch):
    """Export the test's moto server, as `workbook stack emulator` tells a learner to."""
    for key, value in ctx.environment().items():
        monkeypatch.setenv(key, value)
    return ctx


def _albs(ctx) -> list[str]:
    found = ctx.client("elbv2").describe_load_balancers()["LoadBalancers"]
    return [lb["LoadBalancerArn"] for lb in found]


@pytest.fixture(scope="module")
def shared_stack() -> dict:
    """Remember the load balancer of the stack this module applied (its ARN has a random id)."""
    return {}


@pytest.fixture
def applied(moto_backend, shared_stack, monkeypatch):
    """Export the moto server with the stack applied: the module's stack, unless a test reset it."""
    ctx = moto_backend.ctx
    for key, value in ctx.environment().items():
        monkeypatch.setenv(key, value)
    if not shared_stack or _albs(ctx) != shared_stack["albs"]:
        moto_backend.reset()
        result = run("apply", "--backend", "moto")
        assert result.exit_code == 0, result.output
        shared_stack["albs"] = _albs(ctx)
    return ctx


@pytest.fixture
def changes_stack(shared_stack):
    """Forget the shared stack after a test that changes it: the next one applies afresh."""
    yield
    shared_stack.clear()


@pytest.fixture
def secret_restored(applied):
    """Put the shared stack's secret back as it was after a test that sets values in it."""
    client = applied.client("secretsmanager")
    before = client.get_secret_value(SecretId=N.secret)["SecretString"]
    yield
    client.put_secret_value(SecretId=N.secret, SecretString=before)


@pytest.fixture
def drill_stream(applied):
    """Delete the log stream a test writes to, leaving the shared stack's log group as found."""
    yield
    applied.client("logs").delete_log_stream(
        logGroupName=N.log_group, logStreamName=logs.DEFAULT_TEST_STREAM
    )


def _service(ctx) -> dict:
    return ctx.client("ecs").describe_services(cluster=N.cluster, services=[N.service])["services"][
        0
    ]


def test_plan_then_apply_then_status(exported, shared_stack):
    client = exported.client
    planned = run("plan")
    assert planned.exit_code == 0 and "create" in planned.output
    assert client("ecs").list_clusters()["clusterArns"] == []
    applied = run("apply")
    assert applied.exit_code == 0 and "llmops-service-2" in applied.output
    status = run("status")
    assert status.exit_code == 0
    assert "present" in status.output and "missing" not in status.output
    assert "PRIMARY" in status.output
    shared_stack["albs"] = _albs(exported)  # the stack the tests below share, as applied here


def test_unknown_revision_is_a_clear_error(applied):
    result = run("rollback", "--revision", "42")
    assert result.exit_code == 2
    assert "unknown revision 42" in result.output and "ACTIVE revisions: 1" in result.output


def test_status_says_plain_http_without_a_certificate(applied):
    result = run("status")
    assert result.exit_code == 0, result.output
    assert "plain HTTP" in result.output and "http://" in result.output


def test_logs_filter_and_since(applied, drill_stream):
    logs.put_test_events(applied, N, ["INFO started", "ERROR boom", "INFO ok"])
    result = run("logs", "--filter", "ERROR", "--since", "10m")
    assert result.exit_code == 0
    assert "ERROR boom" in result.output and "INFO started" not in result.output
    bad = run("logs", "--since", "ten minutes")
    assert bad.exit_code == 2 and "--since" in bad.output


def test_logs_follow_prints_events_written_meanwhile_once(applied, drill_stream, monkeypatch):
    monkeypatch.setattr(cli, "FOLLOW_EVERY_S", 0.1)
    logs.put_test_events(applied, N, ["INFO before"])
    later = threading.Timer(0.3, logs.put_test_events, (applied, N, ["ERROR while following"]))
    later.start()
    result = run("logs", "--follow", "--for", "1.5")
    later.join()
    assert result.exit_code == 0, result.output
    assert result.output.count("INFO before") == 1  # printed once, not on every poll
    assert result.output.count("ERROR while following") == 1
    assert result.output.index("INFO before") < result.output.index("ERROR while following")


def test_secret_set_never_echoes_values(applied, secret_restored):
    result = run(
        "secret-set", "GROQ_API_KEY=gsk-very-secret", "GOOGLE_API_KEY", input="gk-hidden\n"
    )
    assert result.exit_code == 0, result.output
    assert "gsk-very-secret" not in result.output and "gk-hidden" not in result.output
    assert "GOOGLE_API_KEY" in result.output and "redeploy" in result.output
    stored = json.loads(
        applied.client("secretsmanager").get_secret_value(SecretId=N.secret)["SecretString"]
    )
    assert (stored["GROQ_API_KEY"], stored["GOOGLE_API_KEY"]) == ("gsk-very-secret", "gk-hidden")


def test_deploy_rollback_scale_redeploy(applied, changes_stack):
    digest = ecr.record_image(applied, N, "v2")["imageDigest"]  # what a push leaves in ECR
    deployed = run("deploy", "--image", "v2", "--wait")
    assert deployed.exit_code == 0 and "revision 2" in deployed.output
    assert f"@{digest}" in deployed.output  # the revision names the build, not the tag
    missing = run("deploy", "--image", "c0ffee1")
    assert missing.exit_code == 1 and "no image tagged 'c0ffee1': push it first" in missing.output
    assert _service(applied)["taskDefinition"].endswith(":2")
    back = run("rollback", "--revision", "1")
    assert back.exit_code == 0 and _service(applied)["taskDefinition"].endswith(":1")
    scaled = run("scale", "2")
    assert scaled.exit_code == 0 and "1 -> 2" in scaled.output
    assert run("redeploy").exit_code == 0


def test_teardown_reports_nothing_left(applied, changes_stack):
    result = run("teardown")
    assert result.exit_code == 0, result.output
    assert "nothing tagged for the project is left" in result.output
    assert stack.leftovers(applied, N) == []


@pytest.mark.parametrize("bad", ["1BAD=x", "=value", "MY-KEY=x"])
def test_bad_key_value_is_refused_without_showing_the_value(exported, bad):
    result = run("secret-set", bad)
    assert result.exit_code == 2
    assert "not a valid KEY" in result.output
    assert exported.client("secretsmanager").list_secrets()["SecretList"] == []


def test_empty_secret_value_is_refused(exported):
    result = run("secret-set", "GROQ_API_KEY", input="\n")
    assert result.exit_code == 2 and "empty value" in result.output


def test_commands_before_apply_fail_cleanly(exported):
    result = run("deploy", "--image", "v2")
    assert result.exit_code == 1 and "workbook stack apply" in result.output
    bad = run("scale", "2", "--backend", "azure")
    assert bad.exit_code == 2 and "unknown backend 'azure'" in bad.output


def test_reuses_the_exported_moto_server(exported):
    edge = cli.Edge("moto")
    assert edge.backend.endpoint_url == exported.endpoint_url
    assert edge.backend.server is None  # attached to the server at AWS_ENDPOINT_URL


def test_emulator_prints_the_exports(aws):
    result = run("emulator", "--port", "0", "--for", "0.1", "--no-data-plane")
    assert result.exit_code == 0, result.output
    assert "export AWS_ENDPOINT_URL=http://127.0.0.1:" in result.output
    assert "WORKBOOK_MOTO_PORT=" in result.output
    exported = dict(pair.split("=", 1) for pair in result.output.split("export ", 1)[1].split())
    # the AWS CLI v1 reads only AWS_DEFAULT_REGION: without it, it asks for a region
    assert exported["AWS_DEFAULT_REGION"] == exported["AWS_REGION"] == "us-east-1"
    assert exported["AWS_ACCESS_KEY_ID"] and exported["AWS_SECRET_ACCESS_KEY"]


def _certificate(ctx) -> str:
    return ctx.client("acm").request_certificate(DomainName="llmops.example.com")["CertificateArn"]


def test_certificate_arn_turns_on_https_for_apply_and_status(exported):
    cert = _certificate(exported)
    assert run("apply", "--certificate-arn", cert).exit_code == 0
    listeners = exported.client("elbv2").describe_listeners(
        LoadBalancerArn=exported.client("elbv2").describe_load_balancers()["LoadBalancers"][0][
            "LoadBalancerArn"
        ]
    )["Listeners"]
    assert sorted((li["Port"], li["Protocol"]) for li in listeners) == [
        (80, "HTTP"), (443, "HTTPS"),
    ]  # fmt: skip
    status = run("status", "--certificate-arn", cert)
    assert status.exit_code == 0 and "https://" in status.output
    assert "drifted" not in status.output and "plain HTTP" not in status.output


def test_certificate_arn_is_read_from_the_settings(exported, monkeypatch):
    cert = _certificate(exported)
    monkeypatch.setenv("WORKBOOK_CERTIFICATE_ARN", cert)
    assert run("apply").exit_code == 0
    assert "https://" in run("status").output


def test_a_bad_certificate_arn_is_refused_before_anything_is_made(exported):
    result = run("apply", "--certificate-arn", "my-cert")
    assert result.exit_code == 2 and "ACM certificate ARN" in result.output
    assert (
        exported.client("ec2").describe_security_groups(
            Filters=[{"Name": "group-name", "Values": [N.alb_security_group]}]
        )["SecurityGroups"]
        == []
    )


def test_the_ci_user_exists_only_with_the_flag(exported):
    assert run("apply").exit_code == 0
    assert exported.client("iam").list_users()["Users"] == []
    assert run("apply", "--ci-user").exit_code == 0
    assert [u["UserName"] for u in exported.client("iam").list_users()["Users"]] == [N.ci_user]
    planned = run("plan")
    assert planned.exit_code == 0 and "delete" in planned.output  # not asked for any more


def test_lint_policies_runs_parliament_on_the_stack_and_on_files(exported, tmp_path):
    clean = run("lint-policies")
    assert clean.exit_code == 0, clean.output
    assert "no findings in 3 policies" in clean.output
    loose = tmp_path / "loose.json"
    loose.write_text(json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}))  # fmt: skip
    found = run("lint-policies", str(loose))
    assert found.exit_code == 1 and "RESOURCE_STAR" in found.output
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    bad = run("lint-policies", str(broken))
    assert bad.exit_code == 2 and "broken.json is not JSON" in bad.output
