"""Solutions to chapter 14's exercises (loaded only by show_solution and by CI's runs)."""


def rewrite() -> str:
    """14-1: compare task-hours with task-hours, then check the timing against the alarm."""
    return (
        "The 4.33 task-hours are right, but the baseline is wrong: always-3 for the two hours "
        "is 3 tasks x 2 hours, 6 task-hours, and the guide mixes units when it compares "
        "task-hours with hours. The saving is (6 - 4.33) / 6, about 27.8%. Against always-1, "
        "which is 2 task-hours, scaling costs 2.17 times as much. And the scale-in cannot "
        "come five minutes after the drop: the low alarm needs 15 datapoints of one minute, "
        "so the earliest scale-in is about 15 minutes after CPU falls."
    )


def star() -> dict:
    """14-2: one part each, told as 'I', with the evidence first and a prevention at the end."""
    return {
        "situation": "After a release the new tasks stopped within seconds of starting, "
        "while the old task still served every user.",
        "task": "I was on call, so my job was to restore a healthy rollout quickly, before "
        "anyone noticed.",
        "action": "I read the stopped reason, ResourceInitializationError, and compared the "
        "valueFrom ARN with the secret: a key had been renamed. I fixed the key and forced a "
        "new deployment.",
        "result": "The service was healthy in about ten minutes with no errors for users, and "
        "I added a check to CI that every valueFrom key exists, to prevent it happening again.",
    }


def path() -> list:
    """14-3: in from the internet, through the ALB, to the task's own interface and port."""
    return ["client", "alb", "target-group", "task-eni", "container-port"]


def revise() -> dict:
    """14-4: revise where answers were worst; a drill asks the most overdue item first."""
    return {"revise_first": "autoscaling", "ask_first": "networking-004"}


SOLUTIONS = {
    "14-1": rewrite,
    "14-2": star,
    "14-3": path,
    "14-4": revise,
}
