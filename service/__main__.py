"""Run the service: `python -m service [--host H] [--port P]` (no typer: faster start)."""

import argparse

from service.server import run

parser = argparse.ArgumentParser(prog="python -m service", description="Run the RAG service.")
parser.add_argument("--host", help="interface (default HOST, 0.0.0.0)")
parser.add_argument("--port", type=int, help="port (default PORT, 8080)")
args = parser.parse_args()
run(args.host, args.port)
