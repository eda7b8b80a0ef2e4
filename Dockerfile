# syntax=docker/dockerfile:1
# The RAG service image: two stages, locked dependencies, non-root, no curl needed.
# Build:  docker build --build-arg GIT_SHA=$(git rev-parse HEAD) -t llmops:dev .
ARG PYTHON_IMAGE=python:3.12-slim

# --- build: resolve the locked `service` extra into a venv ---------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_SYSTEM_CERTS=1
# uv comes from the package index as a wheel; no other tool is fetched.
RUN pip install --no-cache-dir "uv==0.13.*"
# Only the pinned, hash-checked dependency list: a code-only change reuses this layer.
COPY requirements/service.txt /tmp/requirements.txt
RUN uv venv /opt/venv \
    && uv pip install --python /opt/venv/bin/python --require-hashes -r /tmp/requirements.txt

# --- runtime: the venv, the service code and the study notes, nothing else -----------
FROM ${PYTHON_IMAGE} AS runtime
ARG GIT_SHA=unknown
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="ecs-workbook RAG service" \
      org.opencontainers.image.description="FastAPI + LangChain + FAISS RAG service deployed by the workbook" \
      org.opencontainers.image.source="https://github.com/your-org/ecs-workbook" \
      org.opencontainers.image.revision="${GIT_SHA}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="MIT"
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ENV=production \
    PORT=8080 \
    DATA_DIR=/app/data \
    LIBRARY_DIR=/app/notes \
    GIT_SHA=${GIT_SHA} \
    APP_VERSION=${VERSION}
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --shell /usr/sbin/nologin app
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY --chown=root:root notes/ /app/notes/
COPY --chown=root:root service/ /app/service/
RUN mkdir -p /app/data && chown app:app /app/data
USER 10001:10001
EXPOSE 8080
# The slim image has no curl or wget: probe /health with the Python that is already there.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request, sys; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '8080'), timeout=2); sys.exit(0)"]
# Exec form: python is PID 1 and gets SIGTERM itself; `python -m service` reads $PORT.
CMD ["python", "-m", "service"]
