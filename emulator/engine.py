"""How a task's container runs on this machine: podman, docker, or a plain process.

The ECS agent on a Fargate host pulls the image and runs it under containerd. Here the
engine is whichever of podman or docker answers (`detect`), driven through its CLI, with the
flags deploy/podman.py already uses. Without an engine, *process mode* runs the workbook's own
service image as `python -m service` (the Dockerfile's CMD) in a local process, with the
task's command, environment, secrets and a port, and the revision its image names as GIT_SHA
(what the image's build argument sets; `ImageRef.revision`): it is the only image whose
contents are on this machine without a build. Any other image needs an engine, and the task
says so.

Images: a task definition names an ECR URI (`<account>.dkr.ecr.<region>.amazonaws.com/<name>`
with `:tag` or `@sha256:...`). The tag or digest must exist in the emulated ECR (moto, in this
process), as a pull from ECR needs it; otherwise the container fails with ECS's
`CannotPullContainerError` wording. An engine then runs the same image from the local registry
that stands in for ECR (the rehearsal's, deploy/pipeline.py), when one is named, or from its
own store (`localhost/<name>:<tag>`, what deploy/pipeline.py builds). Every `Engine` carries
its `mode`, and callers print it with what they report.

The emulator listens on the host's 127.0.0.1 only, and a task reaches it there (`from_task`):
a process shares the host's loopback; a podman container runs on slirp4netns with
`allow_host_loopback`, where 10.0.2.2 is the host's loopback (ports are still published on
127.0.0.1); a docker container is given `host.docker.internal` (host-gateway), which reaches the
host's loopback on Docker Desktop but not on Linux's docker engine, where it is the bridge's
address and the emulator does not listen.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from deploy.podman import RUN_FLAGS

log = logging.getLogger("emulator.engine")

ROOT = Path(__file__).resolve().parents[1]
PROCESS, PODMAN, DOCKER = "process", "podman", "docker"
MODES = (PROCESS, PODMAN, DOCKER)
# The Dockerfile's CMD and the ENV lines the image sets (process mode has no image to read).
SERVICE_COMMAND = ("python", "-m", "service")
SERVICE_IMAGE_ENV = {
    "PYTHONUNBUFFERED": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
    "ENV": "production",
    "PORT": "8080",
    "DATA_DIR": "/app/data",
    "LIBRARY_DIR": "/app/notes",
    "LIBRARY_INDEX_DIR": "/app/library-index",
}
# Where the image keeps what the service reads; process mode maps these container paths
# (the notes' index is built there once, as the image build does: `prebuild`).
IMAGE_PATHS = {"/app/notes": ROOT / "notes", "/app/library-index": ROOT / "build" / "library-index"}
# <account>.dkr.ecr.<region>.amazonaws.com/<name>[:<tag>|@<digest>]
ECR_URI = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
    r"(?P<name>[a-z0-9][a-z0-9._/-]*?)(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)
# ECS's stopped reason when an image tag or digest is missing from the registry (Fargate
# platform 1.4): "CannotPullContainerError: pull image manifest has been retried 5 time(s):
# failed to resolve ref" in
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_cannot_pull_image.html
PULL_NOT_FOUND = (
    "CannotPullContainerError: pull image manifest has been retried 5 time(s): "
    "failed to resolve ref {ref}: {ref}: not found"
)
SIGKILL_EXIT = 128 + signal.SIGKILL  # 137, as an engine reports a killed container
# The host's 127.0.0.1 as a container of each engine reaches it, and the flags that make it so.
HOST_LOOPBACK = {PODMAN: "10.0.2.2", DOCKER: "host.docker.internal"}
NETWORK_FLAGS = {
    PODMAN: ["--network", "slirp4netns:allow_host_loopback=true"],
    DOCKER: ["--add-host", "host.docker.internal:host-gateway"],
}
LOOPBACK_URL = re.compile(r"^(?P<scheme>[a-z][a-z0-9+.-]*://)(?:127\.0\.0\.1|localhost)(?=[:/]|$)")


class EngineError(Exception):
    """A container could not be pulled or started; the message is ECS's stopped reason."""


class PullError(EngineError):
    """The image is not in the registry (CannotPullContainerError)."""


class StartError(EngineError):
    """The container could not start (CannotStartContainerError)."""


@dataclass(frozen=True)
class ImageRef:
    """An image a task definition names, split into its parts."""

    uri: str
    name: str  # the repository name (`llmops`)
    tag: str | None = None
    digest: str | None = None
    account: str | None = None  # set for an ECR URI
    region: str | None = None

    @property
    def reference(self) -> str:
        """Return `:tag` or `@digest` as written after the name."""
        return f"@{self.digest}" if self.digest else f":{self.tag or 'latest'}"

    @property
    def revision(self) -> str:
        """Return the revision this image names: its tag, else its digest's first 12 digits."""
        if self.tag:
            return self.tag
        return self.digest.removeprefix("sha256:")[:12] if self.digest else "unknown"


def held_tag(image: ImageRef, held: EcrImage | None) -> str | None:
    """Return the tag an image runs by: its own, or for a digest a tag ECR holds for it."""
    if not image.digest:
        return image.tag
    tags = held.tags if held else ()
    # A commit's tag names the revision; `latest` moves from one build to the next.
    return next((t for t in tags if t != "latest"), tags[0] if tags else image.tag)


def parse_image(uri: str) -> ImageRef:
    """Split an image URI (ECR, registry/name:tag or name:tag) into an ImageRef."""
    match = ECR_URI.match(uri)
    if match:
        return ImageRef(
            uri, match["name"], match["tag"], match["digest"], match["account"], match["region"]
        )
    rest, _, digest = uri.partition("@")
    path, _, last = rest.rpartition("/")
    name, _, tag = last.partition(":")
    # Keep the repository path below a registry host (`localhost/llmops` names `llmops`).
    prefix = path.split("/", 1)[1] + "/" if "/" in path else ""
    return ImageRef(uri, prefix + name, tag or None, digest or None)


@dataclass(frozen=True)
class EcrImage:
    """What the emulated ECR holds for an image reference: its digest and tags."""

    digest: str
    tags: tuple[str, ...] = ()


@dataclass
class ContainerSpec:
    """What the agent asks an engine to run for one container of a task."""

    name: str  # unique on this machine (the agent's `ecs-<family>-<task id>-<container>`)
    image: ImageRef
    environment: dict[str, str]
    command: list[str] | None = None
    entry_point: list[str] | None = None
    port: int | None = None  # the containerPort published on 127.0.0.1:host_port
    host_port: int | None = None
    read_only: bool = False
    mounts: list[str] = field(default_factory=list)  # container paths of task volumes
    workdir: Path = ROOT  # this container's scratch directory on the host (logs, volumes)

    @property
    def log_path(self) -> Path:
        """Return the file the container's stdout and stderr go to."""
        return self.workdir / "output.log"


class Running(Protocol):
    """A started container."""

    runtime_id: str

    def exit_code(self) -> int | None:
        """Return the exit code once the container has exited, else None."""

    def signal(self, sig: int) -> None:
        """Send `sig` to the container's main process."""

    def wait(self, timeout: float) -> int | None:
        """Wait up to `timeout` seconds for an exit; return its code or None."""

    def health_argv(self, argv: list[str]) -> list[str]:
        """Return a health check command as this mode must run it."""

    def exec(self, argv: list[str], timeout: float) -> int | None:
        """Run `argv` inside the container; return its exit code, None on timeout."""

    def remove(self) -> None:
        """Kill what is left and release the container."""


class Engine(Protocol):
    """Pulls and starts containers in one mode."""

    mode: str

    def resolve(self, image: ImageRef, held: EcrImage | None) -> str:
        """Return where to run `image` from (`held`: what ECR holds); raise EngineError."""

    def start(self, spec: ContainerSpec) -> Running:
        """Start `spec`'s container and return it (StartError if it cannot start)."""


def _exit_code(returncode: int) -> int:
    # Popen says -9 for a process killed by SIGKILL; engines say 128 + signal.
    return 128 - returncode if returncode < 0 else returncode


def from_task(env: dict[str, str], mode: str) -> dict[str, str]:
    """Return `env` with URLs on the host's loopback rewritten as a task in `mode` reaches it."""
    if mode == PROCESS:
        return dict(env)  # a process shares the host's loopback
    host = HOST_LOOPBACK[mode]
    return {k: LOOPBACK_URL.sub(rf"\g<scheme>{host}", v) for k, v in env.items()}


def pull_not_found(image: ImageRef) -> PullError:
    """Return the PullError ECS reports for an image the registry does not hold."""
    return PullError(PULL_NOT_FOUND.format(ref=image.uri))


# ---------------------------------------------------------------- process mode


class ProcessContainer:
    """The service image's command run as a local process group."""

    def __init__(
        self,
        spec: ContainerSpec,
        argv: list[str],
        env: dict[str, str],
        translate: Callable[[list[str]], list[str]],
    ) -> None:
        self.spec = spec
        self.env = env
        self._translate = translate
        spec.workdir.mkdir(parents=True, exist_ok=True)
        with open(spec.log_path, "ab") as log:
            try:
                self.proc = subprocess.Popen(
                    argv, env=env, cwd=spec.workdir, stdin=subprocess.DEVNULL,
                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                )  # fmt: skip
            except OSError as exc:
                raise StartError(
                    f"CannotStartContainerError: {argv[0]}: {exc.strerror or exc}"
                ) from None
        self.runtime_id = str(self.proc.pid)

    @property
    def pid(self) -> int:
        """Return the process id (its process group has the same id)."""
        return self.proc.pid

    def exit_code(self) -> int | None:
        """Return the exit code once the process has exited, else None."""
        code = self.proc.poll()
        return None if code is None else _exit_code(code)

    def signal(self, sig: int) -> None:
        """Send `sig` to the whole process group, as an engine signals PID 1."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)

    def wait(self, timeout: float) -> int | None:
        """Wait up to `timeout` seconds for an exit; return its code or None."""
        try:
            return _exit_code(self.proc.wait(timeout))
        except subprocess.TimeoutExpired:
            return None

    def health_argv(self, argv: list[str]) -> list[str]:
        """Return a health check command as it runs beside this process."""
        return self._translate(argv)

    def exec(self, argv: list[str], timeout: float) -> int | None:
        """Run `argv` beside the process, with its environment; None on timeout."""
        try:
            done = subprocess.run(
                argv, env=self.env, cwd=self.spec.workdir, stdin=subprocess.DEVNULL,
                capture_output=True, timeout=timeout, start_new_session=True,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            return None
        except OSError:
            return 127  # not found, as a shell reports it
        return done.returncode

    def remove(self) -> None:
        """Kill the process group if anything is left of it, and reap it."""
        self.signal(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)


class ProcessEngine:
    """Process mode: the workbook's service image as a local `python -m service` process."""

    mode = PROCESS

    def __init__(self, service_repository: str, python: str = sys.executable) -> None:
        self.service_repository = service_repository
        self.python = python
        self._indexed = threading.Lock()  # one build of the image's notes index at a time

    def prebuild_index(self) -> None:
        """Index the image's notes into its /app/library-index once, as the image build does."""
        from service.library import prebuild

        with self._indexed:
            try:
                prebuild(IMAGE_PATHS["/app/notes"], IMAGE_PATHS["/app/library-index"])
            except OSError as exc:  # the task then indexes at start-up, as without the index
                log.warning("cannot prebuild the notes index", extra={"error": str(exc)})

    def resolve(self, image: ImageRef, held: EcrImage | None) -> str:
        """Accept the service image (present in ECR when named by an ECR URI); refuse others."""
        if image.name != self.service_repository:
            raise StartError(
                f"CannotStartContainerError: the local data plane is in process mode (neither "
                f"podman nor docker answers), which runs only the workbook's service image "
                f"({self.service_repository}); {image.uri} needs a container engine"
            )
        if image.account and held is None:
            raise pull_not_found(image)
        return image.uri

    def _python(self, argv: list[str]) -> list[str]:
        # The image's `python` is this environment's interpreter in process mode.
        if argv and argv[0] in ("python", "python3"):
            return [self.python, *argv[1:]]
        return argv

    def paths(self, spec: ContainerSpec) -> dict[str, Path]:
        """Return the container paths this process mode maps to host directories."""
        mapped = {p: spec.workdir / "volumes" / p.strip("/").replace("/", "_") for p in spec.mounts}
        mapped.setdefault("/app/data", spec.workdir / "volumes" / "app_data")
        mapped.setdefault("/tmp", spec.workdir / "volumes" / "tmp")
        return {**IMAGE_PATHS, **mapped}

    def environment(self, spec: ContainerSpec) -> dict[str, str]:
        """Return the process environment: the image's ENV, the task's, then the host's needs."""
        paths = self.paths(spec)
        for host in paths.values():
            host.mkdir(parents=True, exist_ok=True)

        def mapped(value: str) -> str:
            for container, host in sorted(paths.items(), key=lambda kv: -len(kv[0])):
                if value == container or value.startswith(container + "/"):
                    return str(host) + value[len(container) :]
            return value

        # The image's GIT_SHA label stands in as the revision it names (a pinned digest: the
        # tag ECR holds for it, or the digest's short form), so two revisions tell apart.
        env = {**SERVICE_IMAGE_ENV, "GIT_SHA": spec.image.revision, **spec.environment}
        env = {k: mapped(v) for k, v in env.items()}
        if spec.port is not None and spec.host_port is not None:
            # One network namespace for every task: the container port becomes the host port.
            if env.get("PORT") == str(spec.port):
                env["PORT"] = str(spec.host_port)
            env.setdefault("HOST", "127.0.0.1")  # not 0.0.0.0: this is the learner's machine
        return {
            **env,
            # The image puts its virtualenv first (PATH=/opt/venv/bin:$PATH); so does this.
            "PATH": os.pathsep.join((str(Path(self.python).parent), os.environ.get("PATH", ""))),
            "PYTHONPATH": str(ROOT),
            "TMPDIR": str(paths["/tmp"]),
            "HOME": str(spec.workdir),
        }

    def health_argv(self, spec: ContainerSpec, argv: list[str]) -> list[str]:
        """Return a health check command as it runs here: the container port made the host's."""
        if spec.port is None or spec.host_port is None:
            return self._python(argv)
        port = re.compile(rf"(127\.0\.0\.1|localhost|0\.0\.0\.0):{spec.port}\b")
        out = [port.sub(rf"\1:{spec.host_port}", a) for a in argv]
        return self._python(out)

    def start(self, spec: ContainerSpec) -> Running:
        """Start the service image's command (or the task's) as a local process."""
        argv = [*(spec.entry_point or []), *(spec.command or SERVICE_COMMAND)]
        self.prebuild_index()
        return ProcessContainer(
            spec,
            self._python(argv),
            self.environment(spec),
            lambda check: self.health_argv(spec, check),
        )


# ---------------------------------------------------------------- podman and docker


class CliContainer:
    """A container started with `podman run -d` or `docker run -d`."""

    def __init__(self, cli: str, name: str) -> None:
        self.cli = cli
        self.runtime_id = name
        self._code: int | None = None
        self._done = threading.Event()
        # `<cli> wait` blocks until the container exits and prints its exit code.
        self._waiter = threading.Thread(target=self._wait, name=f"ecs-wait-{name}", daemon=True)
        self._waiter.start()

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(
            [self.cli, *args], capture_output=True, text=True, timeout=timeout, check=False
        )

    def _wait(self) -> None:
        try:
            done = self._run("wait", self.runtime_id, timeout=7 * 24 * 3600)
            self._code = int(done.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError, subprocess.TimeoutExpired, OSError):
            self._code = SIGKILL_EXIT  # removed from under us
        self._done.set()

    def exit_code(self) -> int | None:
        """Return the exit code once the container has exited, else None."""
        return self._code if self._done.is_set() else None

    def signal(self, sig: int) -> None:
        """Send `sig` to the container's PID 1."""
        self._run("kill", "--signal", signal.Signals(sig).name.removeprefix("SIG"), self.runtime_id)

    def wait(self, timeout: float) -> int | None:
        """Wait up to `timeout` seconds for an exit; return its code or None."""
        return self._code if self._done.wait(timeout) else None

    def exec(self, argv: list[str], timeout: float) -> int | None:
        """Run `argv` inside the container (`<cli> exec`); None on timeout."""
        try:
            return self._run("exec", self.runtime_id, *argv, timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            return None

    def health_argv(self, argv: list[str]) -> list[str]:
        """Return a health check command unchanged: it runs in the container's namespace."""
        return argv

    def remove(self) -> None:
        """Remove the container (killing it if it still runs)."""
        self._run("rm", "-f", "-t", "0", self.runtime_id)
        self._done.wait(10)


class CliEngine:
    """podman or docker mode: images from the stand-in registry or the engine's own store."""

    def __init__(self, cli: str, registry: str | None = None) -> None:
        if cli not in (PODMAN, DOCKER):
            raise ValueError(f"engine must be podman or docker, not {cli!r}")
        self.mode = cli
        self.registry = registry  # host:port of the registry standing in for ECR, if any

    def _run(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run(
            [self.mode, *args], capture_output=True, text=True, timeout=timeout, check=False
        )

    def _exists(self, ref: str) -> bool:
        return self._run("image", "inspect", ref, timeout=60).returncode == 0

    def resolve(self, image: ImageRef, held: EcrImage | None) -> str:
        """Return the local reference for `image`, pulling it from the registry if one is set."""
        if image.account and held is None:
            raise pull_not_found(image)
        if not image.account:
            ref = image.uri
        elif self.registry:
            ref = f"{self.registry}/{image.name}{image.reference}"
            tls = ["--tls-verify=false"] if self.mode == PODMAN else []
            if not self._exists(ref) and self._run("pull", *tls, ref).returncode != 0:
                raise pull_not_found(image)
            return ref
        else:
            # The engine's store knows its builds by tag (`localhost/llmops:<sha>`); a digest
            # ECR computed is not one it has, so a pinned image runs by the tag ECR holds.
            store = f"localhost/{image.name}" if self.mode == PODMAN else image.name
            tag = held_tag(image, held) if image.digest else None
            ref = f"{store}:{tag}" if tag else f"{store}{image.reference}"
        if not self._exists(ref):
            raise pull_not_found(image)
        return ref

    def start(self, spec: ContainerSpec) -> Running:
        """`<cli> run -d` the container, its port on 127.0.0.1 and its environment from a file."""
        spec.workdir.mkdir(parents=True, exist_ok=True)
        env_file = spec.workdir / "env"  # not argv: secrets stay out of `ps`
        env_file.touch(mode=0o600)
        env_file.write_text("".join(f"{k}={v}\n" for k, v in spec.environment.items()))
        args = ["run", "-d", "--name", spec.name, "--env-file", str(env_file)]
        if self.mode == PODMAN:
            args += RUN_FLAGS
        args += NETWORK_FLAGS[self.mode]  # the emulator on the host's loopback (`from_task`)
        if spec.port is not None and spec.host_port is not None:
            args += ["-p", f"127.0.0.1:{spec.host_port}:{spec.port}"]
        if spec.read_only:
            args.append("--read-only")
        for path in spec.mounts:  # task-scoped volumes: Fargate's ephemeral storage
            args += ["--tmpfs", f"{path}:rw,mode=1777"]
        if spec.entry_point:
            args += ["--entrypoint", spec.entry_point[0]]
        args.append(spec.image.uri)
        args += [*(spec.entry_point or [])[1:], *(spec.command or [])]
        done = self._run(*args, timeout=120)
        env_file.unlink(missing_ok=True)
        if done.returncode != 0:
            self._run("rm", "-f", spec.name)
            raise StartError(f"CannotStartContainerError: {done.stderr.strip()[-400:]}")
        return CliContainer(self.mode, spec.name)


def _answers(cli: str) -> bool:
    if shutil.which(cli) is None:
        return False
    try:
        return subprocess.run([cli, "info"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def detect() -> str:
    """Return the mode this machine offers: podman, else docker, else process."""
    for cli in (PODMAN, DOCKER):
        if _answers(cli):
            return cli
    return PROCESS


def make_engine(
    mode: str | None, *, service_repository: str, registry: str | None = None
) -> Engine:
    """Return the engine for `mode` (None: detect it), images from `registry` if set."""
    mode = mode or detect()
    if mode == PROCESS:
        return ProcessEngine(service_repository)
    if mode in (PODMAN, DOCKER):
        return CliEngine(mode, registry)
    raise ValueError(f"unknown engine mode {mode!r}: choose {', '.join(MODES)}")
