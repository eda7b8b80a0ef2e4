"""Solutions to chapter 09's exercises (loaded only by show_solution and by CI's runs)."""


def cpu_near_60() -> dict:
    """09-1: track average service CPU at 60 %; scale out after 60 s, scale in after 300 s."""
    return {
        "TargetValue": 60.0,  # a percentage, 0-100
        "PredefinedMetricSpecification": {
            "PredefinedMetricType": "ECSServiceAverageCPUUtilization"
        },
        "ScaleOutCooldown": 60,  # a wait after adding tasks, not "CPU high for 60 s"
        "ScaleInCooldown": 300,  # a wait after removing one, before the next
    }


def seconds_before_scale_in(alarm: dict) -> int:
    """09-2: the low alarm fires after DatapointsToAlarm (else EvaluationPeriods) low periods."""
    datapoints = alarm.get("DatapointsToAlarm") or alarm["EvaluationPeriods"]
    return alarm["Period"] * datapoints


def put_business_hours(client) -> None:
    """09-3: all the required arguments the guide's CLI form leaves out, and a six-field cron."""
    client.put_scheduled_action(
        ServiceNamespace="ecs",
        ScheduledActionName="business-hours-up",
        ResourceId="service/llmopscluster/llmops-service-2",
        ScalableDimension="ecs:service:DesiredCount",
        Schedule="cron(0 8 ? * MON-FRI *)",  # min hour day-of-month month day-of-week year
        Timezone="UTC",
        ScalableTargetAction={"MinCapacity": 2, "MaxCapacity": 3},
    )


SOLUTIONS = {
    "09-1": cpu_near_60,
    "09-2": seconds_before_scale_in,
    "09-3": put_business_hours,
}
