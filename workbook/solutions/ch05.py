"""Solutions to chapter 05's exercises (loaded only by show_solution and by CI's runs)."""


def retention() -> dict:
    """05-1: the smallest accepted values that keep 45 days and 13 months (<= 397 days)."""
    return {"incident_review": 60, "audit": 400}


def create_log_group(client, retention_days: int) -> str:
    """05-2: the group with the stack's tag, then its retention (a new group keeps events forever)."""
    client.create_log_group(logGroupName="/ecs/llmopstdlive", tags={"Project": "ecs-workbook"})
    client.put_retention_policy(logGroupName="/ecs/llmopstdlive", retentionInDays=retention_days)
    return "/ecs/llmopstdlive"


def log_configuration(ctx) -> dict:
    """05-3: awslogs to the stack's group in this region; drop lines rather than stall the app."""
    return {
        "logDriver": "awslogs",
        "options": {
            "awslogs-group": "/ecs/llmopstdlive",
            "awslogs-region": ctx.region,
            "awslogs-stream-prefix": "ecs",
            "awslogs-create-group": "true",  # every option value is a string
            "mode": "non-blocking",
            "max-buffer-size": "25m",
        },
    }


def stream_name(task_arn: str) -> str:
    """05-4: PREFIX/CONTAINER/TASK_ID; the task ID is the last part of the task's ARN."""
    return f"ecs/llmops-container/{task_arn.rsplit('/', 1)[-1]}"


def insights_query() -> str:
    """05-5: filter on the status field Logs Insights finds in each JSON line."""
    return (
        "fields @timestamp, status, route, request_id"
        " | filter status >= 500 and status <= 599"
        " | sort @timestamp desc"
        " | limit 50"
    )


SOLUTIONS = {
    "05-1": retention,
    "05-2": create_log_group,
    "05-3": log_configuration,
    "05-4": stream_name,
    "05-5": insights_query,
}
