"""Run the service: `python -m service [--host H] [--port P]`."""

from service.cli import main

main()
