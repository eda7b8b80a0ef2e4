"""Solutions to chapter 00's exercises (loaded only by show_solution and by CI's runs)."""


def backends():
    """00-1: WORKBOOK_BACKEND picks; AWS_ENDPOINT_URL only names a moto server to reuse."""
    return {
        "a": ("moto", "new"),  # nothing set: moto, started in this process
        "b": ("moto", "http://127.0.0.1:5000"),  # reused when a server answers there
        "c": ("localstack", "http://localhost:4566"),
        "d": ("aws", None),  # the aws backend ignores AWS_ENDPOINT_URL (the CLI does not)
    }


def roles():
    """00-2: ECS uses the execution role; the app the task role; only the ALB reaches a task."""
    return {"secret": "a", "pull": "a", "app": "b", "task_sg": "c", "alb_sg": "d", "push": "e"}


def account(names):
    """00-3: only what this chapter applied, in this kernel's own emulator."""
    return {"logs": [names.log_group], "ecr": [], "ecs": []}


def labels():
    """00-4: stored or returned by moto = emulator; computed from AWS's rules = model."""
    return {"a": "emulator", "b": "model", "c": "model", "d": "emulator", "e": "emulator"}


SOLUTIONS = {"00-1": backends, "00-2": roles, "00-3": account, "00-4": labels}
