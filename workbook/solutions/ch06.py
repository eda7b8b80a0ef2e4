"""Solutions to chapter 06's exercises (loaded only by show_solution and by CI's runs)."""


def create_task_group(client, vpc_id: str, alb_group_id: str) -> str:
    """06-1: the group in the stack's VPC, tagged; 8080 admitted from the ALB's group only."""
    group_id = client.create_security_group(
        GroupName="llmops-task-sg",
        Description="ecs-workbook: task security group",
        VpcId=vpc_id,
        TagSpecifications=[
            {
                "ResourceType": "security-group",
                "Tags": [{"Key": "Project", "Value": "ecs-workbook"}],
            }
        ],
    )["GroupId"]
    client.authorize_security_group_ingress(
        GroupId=group_id,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 8080,
                "ToPort": 8080,
                "UserIdGroupPairs": [{"GroupId": alb_group_id}],  # a group, not a CIDR
            }
        ],
    )
    return group_id


def service_network(subnet_ids: list, task_group_id: str) -> dict:
    """06-2: two subnets in two AZs, the task group, a public IP (public subnets, no NAT)."""
    return {
        "subnets": list(subnet_ids),
        "securityGroups": [task_group_id],
        "assignPublicIp": "ENABLED",
    }


def private_path() -> dict:
    """06-3: no public IP; ECR API and registry, Logs, Secrets Manager; S3 for the layers."""
    return {
        "assignPublicIp": "DISABLED",
        "interface_endpoints": ["ecr.api", "ecr.dkr", "logs", "secretsmanager"],
        "gateway_endpoints": ["s3"],
    }


SOLUTIONS = {
    "06-1": create_task_group,
    "06-2": service_network,
    "06-3": private_path,
}
