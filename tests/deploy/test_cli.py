"""`workbook stack ...` through typer's CliRunner against the test's moto account."""

import json
import threading

import pytest
from typer.testing import CliRunner

from deploy import cli, stack
from deploy.aws.names import DEFAULT_NAMES as N
from deploy.resources import ecr, logs

runner = CliRunner()


def run(*args: str, input: str | None = None):
    return runner.invoke(cli.app, list(args), input=input)


@pytest.fixture
def exported(aws, ctx, monkeypatch):
    """Export the test's moto server, as `workbook stack emulator` tells a learner to."""
    for key, value in ctx.environment().items():
        monkeypatch.setenv(key, value)
    return ctx


@pytest.fixture
def applied(exported):
    result = run("apply", "--backend", "moto")
    assert result.exit_code == 0, result.output
    return exported


def _service(ctx) -> dict:
    return ctx.client("ecs").describe_services(cluster=N.cluster, services=[N.service])["services"][
        0
    ]


def test_plan_then_apply_then_status(exported):
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


def test_deploy_rollback_scale_redeploy(applied):
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


def test_unknown_revision_is_a_clear_error(applied):
    result = run("rollback", "--revision", "42")
    assert result.exit_code == 2
    assert "unknown revision 42" in result.output and "ACTIVE revisions: 1" in result.output


def test_secret_set_never_echoes_values(applied):
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


@pytest.mark.parametrize("bad", ["1BAD=x", "=value", "MY-KEY=x"])
def test_bad_key_value_is_refused_without_showing_the_value(exported, bad):
    result = run("secret-set", bad)
    assert result.exit_code == 2
    assert "not a valid KEY" in result.output
    assert exported.client("secretsmanager").list_secrets()["SecretList"] == []


def test_empty_secret_value_is_refused(exported):
    result = run("secret-set", "GROQ_API_KEY", input="\n")
    assert result.exit_code == 2 and "empty value" in result.output


def test_logs_filter_and_since(applied):
    logs.put_test_events(applied, N, ["INFO started", "ERROR boom", "INFO ok"])
    result = run("logs", "--filter", "ERROR", "--since", "10m")
    assert result.exit_code == 0
    assert "ERROR boom" in result.output and "INFO started" not in result.output
    bad = run("logs", "--since", "ten minutes")
    assert bad.exit_code == 2 and "--since" in bad.output


def test_logs_follow_prints_events_written_meanwhile_once(applied, monkeypatch):
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


def test_teardown_reports_nothing_left(applied):
    result = run("teardown")
    assert result.exit_code == 0, result.output
    assert "nothing tagged for the project is left" in result.output
    assert stack.leftovers(applied, N) == []


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


def test_status_says_plain_http_without_a_certificate(applied):
    result = run("status")
    assert result.exit_code == 0, result.output
    assert "plain HTTP" in result.output and "http://" in result.output


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
