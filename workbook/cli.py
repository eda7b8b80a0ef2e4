"""The one `workbook` command: serve, stack, quiz and run, each from its own package."""

import importlib

import typer

app = typer.Typer(
    help="Learn to deploy a RAG service on AWS ECS Fargate, and the interview about it."
)

# (sub-command, module with a typer `app`, help); a package missing from this install
# (the container image carries only `service`) simply leaves its command out.
SUBCOMMANDS = [
    ("stack", "deploy.cli", "Provision, inspect, deploy, roll back and tear down the ECS stack."),
    ("quiz", "quizzes.cli", "Drill questions, run a mock interview, see stats, export decks."),
]

for name, module, help_text in SUBCOMMANDS:
    try:
        sub = importlib.import_module(module).app
    except ImportError:
        continue
    app.add_typer(sub, name=name, help=help_text)

try:
    from service.cli import serve

    app.command("serve", help="Run the RAG service (uvicorn) on PORT.")(serve)
except ImportError:
    pass


@app.command("run")
def run(
    questions: int = typer.Option(3, help="How many library questions to ask the service."),
) -> None:
    """Apply the stack on the emulator, start the service and ask it questions."""
    from workbook.run import main

    raise typer.Exit(main(questions=questions))


if __name__ == "__main__":
    app()
