#!/usr/bin/env bash
# Resolve pyproject.toml and write the pinned, hash-checked requirement files that
# `make install` and the Dockerfile install from. They carry versions and hashes only
# (no index addresses), so they work with whatever package index pip/uv is set up for.
set -euo pipefail
export UV_PYTHON_DOWNLOADS=never
uv lock --quiet
# rfc3987-syntax (with lark, its only user here) is left out: jsonschema imports it when it is
# installed, and it builds a Lark grammar at import time, about 7 s in every process that
# imports jsonschema (nbformat, papermill, nbval, Jupyter). jsonschema works without it (it
# only checks the "iri" formats, which nothing in the workbook validates).
common=(--frozen --no-emit-project --format requirements-txt --quiet
  --no-emit-package rfc3987-syntax --no-emit-package lark)
uv export "${common[@]}" --extra service -o requirements/service.txt
uv export "${common[@]}" --extra lab -o requirements/lab.txt
uv export "${common[@]}" --extra dev --extra groq --extra google --extra bedrock --extra ollama \
  -o requirements/dev.txt
echo "wrote requirements/service.txt requirements/lab.txt requirements/dev.txt"
