"""Solutions to chapter 07's exercises (loaded only by show_solution and by CI's runs)."""


def create_http_listener(client, lb_arn: str, tg_arn: str) -> str:
    """07-1: HTTP on 80, forwarding to the target group (HTTPS waits for a certificate)."""
    return client.create_listener(
        LoadBalancerArn=lb_arn,
        Protocol="HTTP",
        Port=80,  # where clients connect; 8080 is the tasks' port, the target group's business
        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg_arn}],
    )["Listeners"][0]["ListenerArn"]


def requirement() -> dict:
    """07-2: 15 s x 2 failures = 30 s to detect; a 5 s timeout lets a 3 s answer pass."""
    return {
        "HealthCheckIntervalSeconds": 15,
        "HealthCheckTimeoutSeconds": 5,
        "UnhealthyThresholdCount": 2,
    }


def matcher() -> dict:
    """07-3: accept the app's 204 (a range of success codes works too: "200-299")."""
    return {"HttpCode": "200,204"}


def drain() -> int:
    """07-4: longer than the longest answer (45 s), well inside Spot's 120 s warning."""
    return 60


SOLUTIONS = {
    "07-1": create_http_listener,
    "07-2": requirement,
    "07-3": matcher,
    "07-4": drain,
}
