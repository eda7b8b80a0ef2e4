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
    MOTO_PORT=5000
RUN pip install --no-cache-dir "moto[server]==${MOTO_VERSION}"
EXPOSE 5000
# /moto-api/ is moto's own dashboard; it answers as soon as the server is up.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5000/moto-api/', timeout=2)"]
ENTRYPOINT ["moto_server", "-H", "0.0.0.0", "-p", "5000"]
