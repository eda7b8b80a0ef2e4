# syntax=docker/dockerfile:1
# The RAG service image: two stages, locked dependencies, non-root, no curl needed.
# Build:  docker build --build-arg GIT_SHA=$(git rev-parse HEAD) -t llmops:dev .
# The base image, pinned by digest so every build starts from the same bytes (Python 3.12 on
# Debian trixie); --build-arg PYTHON_IMAGE=... swaps in another base, as the tests do.
ARG PYTHON_IMAGE=python:3.12-slim@sha256:229a2c5bfa27522db7815ea81f9bed70af17ccb9de9fc7ad142b1877b5830d36

# Dependabot reads image references on FROM lines only, never ARG defaults. This stage carries
# the same reference for it to bump; nothing uses it, so BuildKit and podman skip it.
# tests/test_supply_chain.py fails until the ARG above names the same digest again.
FROM python:3.12-slim@sha256:229a2c5bfa27522db7815ea81f9bed70af17ccb9de9fc7ad142b1877b5830d36 AS base-pin

# --- build: resolve the locked `service` extra into a venv ---------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_SYSTEM_CERTS=1
# uv comes from the package index as a wheel, checked against the sha256 of its linux x86_64
# and aarch64 wheels; no other tool is fetched. Dependabot does not see this pin: bump the
# version and both hashes together (`pip download uv==X --platform ...`, then `pip hash`),
# here and in compose/moto.Dockerfile (tests/test_supply_chain.py keeps the two equal).
RUN echo "uv==0.13.9" \
        "--hash=sha256:d7f459fe4fd247d830351c75686d3996ace3c6f3f728eb0e85a30b7ada0cef19" \
        "--hash=sha256:5435c5ce14a56431208ca0996416d310f1598e8c2c8ba707688985a16bb82dbe" \
        > /tmp/uv.txt \
    && pip install --no-cache-dir --require-hashes -r /tmp/uv.txt \
    && rm /tmp/uv.txt
# Only the pinned, hash-checked dependency list: a code-only change reuses this layer.
COPY requirements/service.txt /tmp/requirements.txt
RUN uv venv /opt/venv \
    && uv pip install --python /opt/venv/bin/python --require-hashes -r /tmp/requirements.txt

# --- runtime: the venv, the service code, the study notes and their index, nothing else ----
FROM ${PYTHON_IMAGE} AS runtime
# Declared before the RUN steps on purpose: buildah (podman) leaves an ARG's value out of the
# cache key of LABEL and ENV, so with no RUN after it an image built for one commit was reused,
# with that commit's labels, for another. A RUN after an ARG has its value in its key.
ARG GIT_SHA=unknown
ARG VERSION=0.1.0
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ENV=production \
    PORT=8080 \
    DATA_DIR=/app/data \
    LIBRARY_DIR=/app/notes \
    LIBRARY_INDEX_DIR=/app/library-index
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --shell /usr/sbin/nologin app
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY --chown=root:root notes/ /app/notes/
COPY --chown=root:root service/ /app/service/
# Index the notes now, so no task spends its start-up doing it (the service uses this index
# only while it matches the notes, and indexes them itself otherwise).
RUN python -m service.library /app/library-index
RUN mkdir -p /app/data && chown app:app /app/data
# The task definition mounts empty bind volumes here (its root file system is read-only). For a
# path declared as a VOLUME, ECS on Fargate starts the volume from the image's directory, so
# /app/data stays owned by the app user and /tmp stays world-writable (AWS: "Bind mount
# examples for Amazon ECS", exposing a path from a Dockerfile).
VOLUME ["/app/data", "/tmp"]
LABEL org.opencontainers.image.title="ecs-workbook RAG service" \
      org.opencontainers.image.description="FastAPI + LangChain + FAISS RAG service deployed by the workbook" \
      org.opencontainers.image.source="https://github.com/your-org/ecs-workbook" \
      org.opencontainers.image.revision="${GIT_SHA}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="MIT"
ENV GIT_SHA=${GIT_SHA} \
    APP_VERSION=${VERSION}
USER 10001:10001
EXPOSE 8080
# The slim image has no curl or wget: probe /health with the Python that is already there.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request, sys; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '8080'), timeout=2); sys.exit(0)"]
# Exec form: python is PID 1 and gets SIGTERM itself; `python -m service` reads $PORT.
CMD ["python", "-m", "service"]
