# syntax=docker/dockerfile:1
# A local stand-in for the published `motoserver/moto:5.2.5` image, for machines that cannot
# pull it. compose/local-images.yml builds it and tags it with the published name, so
# docker-compose.yml (pull_policy: missing) finds it and never tries to pull.
# Same contract as the published image: moto's HTTP server on 0.0.0.0:5000, every service.
ARG PYTHON_IMAGE=python:3.12-slim@sha256:229a2c5bfa27522db7815ea81f9bed70af17ccb9de9fc7ad142b1877b5830d36
FROM ${PYTHON_IMAGE}
ARG MOTO_VERSION=5.2.5
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONUNBUFFERED=1 \
    MOTO_PORT=5000 \
    PATH=/opt/moto/bin:$PATH
# uv, pinned and hash-checked as in the service's Dockerfile (tests/test_supply_chain.py keeps
# the two pins equal), installs moto's ~60 packages in a third of pip's CPU time and a
# quarter of its wall time, into a venv (a Debian-built base refuses system installs).
RUN echo "uv==0.13.9" \
        "--hash=sha256:d7f459fe4fd247d830351c75686d3996ace3c6f3f728eb0e85a30b7ada0cef19" \
        "--hash=sha256:5435c5ce14a56431208ca0996416d310f1598e8c2c8ba707688985a16bb82dbe" \
        > /tmp/uv.txt \
    && pip install --no-cache-dir --require-hashes -r /tmp/uv.txt \
    && rm /tmp/uv.txt
RUN uv venv /opt/moto \
    && UV_SYSTEM_CERTS=1 uv pip install --python /opt/moto/bin/python --no-cache \
        "moto[server]==${MOTO_VERSION}"
EXPOSE 5000
# /moto-api/ is moto's own dashboard; it answers as soon as the server is up.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5000/moto-api/', timeout=2)"]
ENTRYPOINT ["moto_server", "-H", "0.0.0.0", "-p", "5000"]
