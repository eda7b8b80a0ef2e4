"""Solutions to chapter 08's exercises (loaded only by show_solution and by CI's runs)."""

import math


def deployment() -> dict:
    """08-1: keep 100 % healthy, allow 200 % during the swap, breaker with rollback."""
    return {
        "minimumHealthyPercent": 100,  # never fewer healthy tasks than desired
        "maximumPercent": 200,  # room to start the new task beside the old one
        "deploymentCircuitBreaker": {"enable": True, "rollback": True},
    }


def size() -> tuple[int, int]:
    """08-2: 512 units (0.5 vCPU) takes 1-4 GiB in 1 GiB steps, so 3 GiB fits."""
    return (512, 3072)


def threshold():
    """08-3: half the desired count, rounded up (the model's assumption), within 3..200."""

    def threshold(desired_count: int) -> int:
        return min(max(math.ceil(desired_count * 0.5), 3), 200)

    return threshold


def create_service(client, task_definition_arn: str, network, alb, deployment: dict) -> str:
    """08-4: every field of the reference service, written out."""
    check = alb.health_check  # the target group's settings
    # the container's startPeriod (60 s) + the checks a new target needs to turn healthy
    grace = 60 + check["HealthCheckIntervalSeconds"] * check["HealthyThresholdCount"]
    arn = client.create_service(
        cluster="llmopscluster",
        serviceName="llmops-service-2",
        taskDefinition=task_definition_arn,
        desiredCount=1,
        launchType="FARGATE",
        platformVersion="LATEST",
        schedulingStrategy="REPLICA",
        deploymentController={"type": "ECS"},
        deploymentConfiguration=deployment,
        healthCheckGracePeriodSeconds=grace,
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": list(network.subnet_ids),  # both subnets: two Availability Zones
                "securityGroups": [network.task_security_group_id],
                "assignPublicIp": "ENABLED",
            }
        },
        loadBalancers=[
            {
                "targetGroupArn": alb.target_group_arn,
                "containerName": "llmops-container",
                "containerPort": 8080,
            }
        ],
        propagateTags="SERVICE",
        enableECSManagedTags=True,
        tags=[{"key": "Project", "value": "ecs-workbook"}],
    )["service"]["serviceArn"]
    # The emulator: moto's create_service drops these two fields (localstack/README.md) and
    # update_service stores them. On AWS this second call changes nothing.
    client.update_service(
        cluster="llmopscluster",
        service="llmops-service-2",
        deploymentConfiguration=deployment,
        healthCheckGracePeriodSeconds=grace,
    )
    return arn


SOLUTIONS = {
    "08-1": deployment,
    "08-2": size,
    "08-3": threshold,
    "08-4": create_service,
}
