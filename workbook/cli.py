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
    ("notebooks", "workbook.notebooks", "Execute the chapter notebooks and build their reports."),
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
    notebooks: bool = typer.Option(True, help="Also execute every chapter notebook."),
) -> None:
    """Build the stack on emulated AWS, ask the service questions, execute the chapters."""
    from workbook.run import main  # loaded on use: ~0.1 s every other command would pay

    raise typer.Exit(main(questions=questions, notebooks=notebooks))


if __name__ == "__main__":
    app()
