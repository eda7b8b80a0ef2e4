"""The task definition template and its renderer: Fargate sizes, secrets, health check."""

import json
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import botocore.session
import pytest
from botocore.validate import ParamValidator

from deploy.aws.errors import InvalidInput
from deploy.aws.names import DEFAULT_NAMES
from deploy.resources import taskdef

SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:llmops_prod-AbCdEf"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/llmops:abc123"


def _render(names=DEFAULT_NAMES, **kw):
    kw = {"region": "us-east-1", "account_id": "123456789012", "secret_arn": SECRET, **kw}
    return taskdef.render(names, IMAGE, **kw)


def test_template_is_the_guides_task_with_placeholders():
    raw = taskdef.TEMPLATE_PATH.read_text()
    td = json.loads(raw)
    c = taskdef.container(td)
    assert (td["family"], td["cpu"], td["memory"]) == ("llmopstd", "1024", "8192")
    assert td["requiresCompatibilities"] == ["FARGATE"] and td["networkMode"] == "awsvpc"
    assert c["name"] == "llmops-container" and c["image"] == "<IMAGE>"
    assert c["portMappings"][0]["containerPort"] == 8080
    assert "<ACCOUNT_ID>" in td["executionRoleArn"] and "<ACCOUNT_ID>" in td["taskRoleArn"]
    assert [e["name"] for e in c["environment"]] == [
        "ENV", "PORT", "LOG_LEVEL", "LLM_PROVIDER", "DATA_DIR", "DOCUMENT_BUCKET",
        "CHAT_HISTORY_TABLE",
    ]  # fmt: skip
    assert all(s["valueFrom"].startswith("<SECRET_ARN>:") for s in c["secrets"])
    assert c["logConfiguration"]["options"]["awslogs-create-group"] == "true"
    assert c["healthCheck"]["startPeriod"] > 0 and c["stopTimeout"] <= taskdef.MAX_STOP_TIMEOUT


def test_render_fills_every_placeholder_and_is_a_valid_register_call():
    td = _render()
    text = json.dumps(td)
    assert not [p for p in taskdef.PLACEHOLDERS if p in text]
    assert taskdef.container(td)["image"] == IMAGE
    assert td["executionRoleArn"] == "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"
    # errata 8: full ARN (6-char suffix), then json-key, empty stage and id: `:KEY::`
    assert taskdef.container(td)["secrets"][0]["valueFrom"] == f"{SECRET}:GROQ_API_KEY::"
    assert taskdef.secret_keys(td) == [
        "GROQ_API_KEY", "GOOGLE_API_KEY", "LANGCHAIN_API_KEY", "API_KEY",
    ]  # fmt: skip
    model = botocore.session.get_session().get_service_model("ecs")
    shape = model.operation_model("RegisterTaskDefinition").input_shape
    report = ParamValidator().validate(td, shape)
    assert not report.has_errors(), report.generate_report()


def test_render_follows_name_overrides():
    names = DEFAULT_NAMES.with_overrides(
        family="demo", container="web", container_port=9000, log_group="/ecs/demo"
    )
    td = _render(names, region="eu-west-1")
    c = taskdef.container(td)
    assert td["family"] == "demo" and c["name"] == "web"
    assert c["portMappings"][0]["containerPort"] == 9000
    assert {"name": "PORT", "value": "9000"} in c["environment"]
    assert "127.0.0.1:9000/health'" in c["healthCheck"]["command"][-1]
    assert c["logConfiguration"]["options"]["awslogs-region"] == "eu-west-1"
    assert c["logConfiguration"]["options"]["awslogs-group"] == "/ecs/demo"


def test_render_uses_the_role_arns_and_log_group_it_is_given():
    execution = "arn:aws:iam::210987654321:role/other-execution"
    task = "arn:aws:iam::210987654321:role/other-task"
    td = taskdef.render(
        DEFAULT_NAMES,
        IMAGE,
        region="us-east-1",
        secret_arn=SECRET,
        execution_role_arn=execution,
        task_role_arn=task,
        log_group="/ecs/elsewhere",
    )
    assert (td["executionRoleArn"], td["taskRoleArn"]) == (execution, task)
    assert taskdef.container(td)["logConfiguration"]["options"]["awslogs-group"] == "/ecs/elsewhere"


def test_render_needs_the_account_or_both_roles_and_a_region():
    with pytest.raises(taskdef.TaskDefinitionError, match="account_id or both role ARNs"):
        taskdef.render(
            DEFAULT_NAMES, IMAGE, region="us-east-1", secret_arn=SECRET, task_role_arn="arn:x"
        )
    with pytest.raises(taskdef.TaskDefinitionError, match="region"):
        _render(region="")


def test_registration_drops_what_only_describe_returns():
    described = {
        **_render(),
        "taskDefinitionArn": "arn:aws:ecs:us-east-1:1:task-definition/llmopstd:3",
        "revision": 3,
        "status": "ACTIVE",
        "compatibilities": ["EC2", "FARGATE"],
        "requiresAttributes": [{"name": "ecs.capability.secrets.asm.environment-variables"}],
        "registeredAt": "2024-01-01T00:00:00Z",
    }
    again = taskdef.registration(described)
    assert again == _render()
    taskdef.container(again)["image"] = "other"  # a deep copy: the described one keeps its image
    assert taskdef.container(described)["image"] == IMAGE


def test_no_secret_in_plain_environment():
    env = [e["name"] for e in taskdef.container(_render())["environment"]]
    assert not set(env) & set(taskdef.secret_names(_render()))
    leaky = _render()
    taskdef.container(leaky)["environment"].append({"name": "GROQ_API_KEY", "value": "gsk"})
    with pytest.raises(taskdef.TaskDefinitionError, match="GROQ_API_KEY"):
        taskdef.check(leaky)


def test_api_key_comes_from_the_secret_never_from_plain_environment():
    td = _render()
    c = taskdef.container(td)
    assert "API_KEY" not in {e["name"] for e in c["environment"]}
    assert [s for s in c["secrets"] if s["name"] == "API_KEY"] == [
        {"name": "API_KEY", "valueFrom": f"{SECRET}:API_KEY::"}
    ]
    assert "API_KEY" not in json.dumps(c["environment"])
    with pytest.raises(taskdef.TaskDefinitionError, match="'API_KEY' is not allowed"):
        _render(environment={"API_KEY": "plain"})


def _mounts(td: dict) -> dict[str, tuple[str, bool]]:
    return {
        m["containerPath"]: (m["sourceVolume"], m["readOnly"])
        for m in taskdef.container(td)["mountPoints"]
    }


def test_root_filesystem_is_read_only_with_volumes_where_the_service_writes():
    td = _render()
    c = taskdef.container(td)
    assert c["readonlyRootFilesystem"] is True
    assert td["volumes"] == [{"name": "data"}, {"name": "tmp"}]  # Fargate task storage
    env = {e["name"]: e["value"] for e in c["environment"]}
    assert _mounts(td) == {env["DATA_DIR"]: ("data", False), "/tmp": ("tmp", False)}
    # the image's own DATA_DIR is the one mounted (Dockerfile `ENV ... DATA_DIR=/app/data`)
    dockerfile = (taskdef.TEMPLATE_PATH.parents[1] / "Dockerfile").read_text()
    assert re.search(r"\bDATA_DIR=(\S+)", dockerfile).group(1) == env["DATA_DIR"]


def test_another_data_dir_moves_its_volume():
    td = _render(environment={"DATA_DIR": "/srv/data"})
    assert _mounts(td) == {"/srv/data": ("data", False), "/tmp": ("tmp", False)}


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (lambda td: taskdef.container(td).pop("readonlyRootFilesystem"), "must be true"),
        (
            lambda td: taskdef.container(td)["mountPoints"].pop(1),
            r"writable volume for temporary files \(/tmp\)",
        ),
        (
            lambda td: taskdef.container(td)["mountPoints"][0].update(readOnly=True),
            r"writable volume for DATA_DIR \(/app/data\)",
        ),
        (lambda td: td.pop("volumes"), r"mountPoints name volume\(s\) \['data', 'tmp'\]"),
        (
            lambda td: taskdef.container(td).update(
                environment=[
                    e for e in taskdef.container(td)["environment"] if e["name"] != "DATA_DIR"
                ]
            ),
            "environment must set DATA_DIR",
        ),
    ],
)
def test_check_refuses_a_writable_root_or_a_missing_writable_volume(breakage, message):
    td = _render()
    breakage(td)
    with pytest.raises(taskdef.TaskDefinitionError, match=message):
        taskdef.check(td)


def test_bad_fargate_size_names_the_valid_memory_range():
    with pytest.raises(taskdef.TaskDefinitionError, match=r"512, 1024 or 2048 MiB"):
        _render(cpu=256, memory=8192)
    with pytest.raises(InvalidInput, match=r"2048-8192 MiB in steps of 1024"):
        taskdef.validate_size(1024, 16384)
    with pytest.raises(taskdef.TaskDefinitionError, match="no task cpu 300"):
        taskdef.validate_size(300, 1024)
    with pytest.raises(taskdef.TaskDefinitionError, match="whole numbers"):
        taskdef.validate_size("one", "8GB")


@pytest.mark.parametrize(
    ("cpu", "memory", "ok"),
    [
        (256, 512, True),
        (256, 3072, False),
        (512, 4096, True),
        (1024, 8192, True),
        (1024, 1024, False),
        (4096, 30720, True),
        (8192, 61440, True),
        (8192, 18432, False),
        (16384, 122880, True),
    ],
)
def test_fargate_size_table(cpu, memory, ok):
    if ok:
        taskdef.validate_size(cpu, memory)
    else:
        with pytest.raises(taskdef.TaskDefinitionError):
            taskdef.validate_size(cpu, memory)


def test_curl_health_check_is_refused():
    td = _render()
    taskdef.container(td)["healthCheck"]["command"] = ["CMD-SHELL", "curl -f http://x/health"]
    with pytest.raises(taskdef.TaskDefinitionError, match="curl"):
        taskdef.check(td)


def test_bad_image_is_refused():
    with pytest.raises(taskdef.TaskDefinitionError, match="image"):
        taskdef.render(
            DEFAULT_NAMES, "<IMAGE>", region="us-east-1", account_id="1", secret_arn=SECRET
        )


class _Health(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self):
        self.send_response(self.status if self.path == "/health" else 404)
        self.end_headers()
        self.wfile.write(b'{"status": "ok"}')

    def log_message(self, *args):
        pass


@pytest.mark.parametrize(("status", "healthy"), [(200, True), (500, False)])
def test_health_check_command_needs_only_python(status, healthy):
    handler = type("H", (_Health,), {"status": status})
    server = HTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        names = DEFAULT_NAMES.with_overrides(container_port=server.server_address[1])
        cmd = taskdef.container(_render(names))["healthCheck"]["command"]
        assert cmd[:3] == ["CMD", "python", "-c"]
        done = subprocess.run([sys.executable, "-c", cmd[3]], capture_output=True, timeout=30)
        assert (done.returncode == 0) is healthy
    finally:
        server.shutdown()
        server.server_close()


def test_tasks_share_the_stacks_bucket_and_table():
    # Several tasks behind one ALB must read one session store: the rendered task definition
    # names the bucket and table the state resources hand forward.
    td = taskdef.render(
        DEFAULT_NAMES, IMAGE, region="eu-west-1", account_id="123456789012", secret_arn=SECRET
    )
    env = {e["name"]: e["value"] for e in taskdef.container(td)["environment"]}
    assert env["DOCUMENT_BUCKET"] == DEFAULT_NAMES.bucket("123456789012", "eu-west-1")
    assert env["CHAT_HISTORY_TABLE"] == DEFAULT_NAMES.history_table
