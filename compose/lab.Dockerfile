# syntax=docker/dockerfile:1
# JupyterLab for the workbook, talking to the moto container (docker-compose.yml `lab`).
# Build context is the repository root; compose/lab.Dockerfile.dockerignore (read instead of
# the root .dockerignore, which is written for the service image) lets the packages in.
ARG PYTHON_IMAGE=python:3.12-slim@sha256:229a2c5bfa27522db7815ea81f9bed70af17ccb9de9fc7ad142b1877b5830d36
FROM ${PYTHON_IMAGE}
# What pip installs. The default is the project with its `lab` extra (Jupyter, boto3, moto,
# papermill, the quiz tools). The compose wiring test passes LAB_SPEC=boto3 instead: it only
# needs to prove that the lab reaches moto by service name, and that keeps its build short.
ARG LAB_SPEC=".[lab]"
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/home/lab \
    PYTHONPATH=/home/lab/work
WORKDIR /home/lab/work
COPY pyproject.toml README.md ./
COPY service/ service/
COPY deploy/ deploy/
COPY quizzes/ quizzes/
COPY workbook/ workbook/
COPY notes/ notes/
# hadolint ignore=DL3013
RUN pip install --no-cache-dir "${LAB_SPEC}" \
    && chmod 1777 /home/lab
# Compose bind-mounts the repository over /home/lab/work, so notebooks you save land on the
# host, and PYTHONPATH puts that live source ahead of the installed copy.
USER 1000:1000
EXPOSE 8888
# Jupyter reads its token from JUPYTER_TOKEN; /api answers without one.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8888/api', timeout=2)"]
CMD ["jupyter", "lab", "--ip=0.0.0.0", "--port=8888", "--no-browser", "--ServerApp.root_dir=/home/lab/work"]
