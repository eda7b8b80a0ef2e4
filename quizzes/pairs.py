"""The pairs interviews confuse, and which actor of each does which action."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """One side of a confused pair: what answers call it and what only it does."""

    name: str
    names: tuple[str, ...]
    does: tuple[str, ...]


@dataclass(frozen=True)
class Relation:
    """A pair of actors interviews confuse."""

    topic: str
    actors: tuple[Actor, Actor]
    denials: bool = False  # denying an actor its own action is wrong too ("exec form: no signal")


# What each ALB error code means, shared by the three pairs of codes interviews confuse.
_BAD_RESPONSE = (
    "malformed",
    "crashed",
    "connection refused",
    "closed the connection",
    "reset the connection",
    "invalid response",
)
# not "timeout" alone: a 502 also comes from an app keep-alive shorter than the idle timeout;
# not "no healthy targets": with every target unhealthy the ALB fails open
_TIMEOUT = ("timed out", "times out", "took too long", "slower than", "too slow")
_NO_TARGETS = ("no targets", "no registered targets", "empty target group", "nothing registered")
_A502 = Actor("a 502", ("502", "bad gateway"), _BAD_RESPONSE)
_A503 = Actor("a 503", ("503", "service unavailable"), _NO_TARGETS)
_A504 = Actor("a 504", ("504", "gateway timeout"), _TIMEOUT)

RELATIONS: tuple[Relation, ...] = (
    Relation(
        "execution role vs task role",
        (
            Actor(
                "the execution role",
                ("execution role", "task execution role", "executionRoleArn", "exec role"),
                (
                    "pull the image",
                    "pulls images",
                    "image pull",
                    "pull from ecr",
                    "fetch the secrets",
                    "read the secrets",
                    "inject the secrets",
                    "injects",
                    "write the logs",
                    "send logs",
                    "ship logs",
                    "push logs",
                    "CreateLogGroup",
                    "CreateLogStream",
                    "PutLogEvents",
                    "GetAuthorizationToken",
                ),
            ),
            Actor(
                "the task role",
                ("task role", "taskRoleArn"),
                (
                    "application code",
                    "app code",
                    "your code",
                    "my code",
                    "boto3",
                    "the sdk",
                    "the app calls",
                    "the application calls",
                    "the app writes",
                    "the app reads",
                    "dynamodb",
                    "putitem",
                    "efs client",
                    "clientmount",
                ),
            ),
        ),
    ),
    Relation(
        "ALB security group vs task security group",
        (
            Actor(
                "the ALB security group",
                (
                    "alb security group",
                    "load balancer security group",
                    "load balancer's security group",
                    "alb sg",
                ),
                ("0.0.0.0/0", "from anywhere", "from the internet", "port 443", "port 80"),
            ),
            Actor(
                "the task security group",
                (
                    "task security group",
                    "tasks security group",
                    "service security group",
                    "container security group",
                    "task sg",
                ),
                ("port 8080", "8080 from", "only from the alb", "from the alb security group"),
            ),
        ),
    ),
    Relation(
        "minimumHealthyPercent vs maximumPercent",
        (
            Actor(
                "minimumHealthyPercent",
                ("minimumHealthyPercent", "minimum healthy percent", "minimum healthy"),
                # not "floor" or "at least": they read "min", like the names' own words
                ("below", "lower bound", "keep running", "stay healthy", "never drop"),
            ),
            Actor(
                "maximumPercent",
                ("maximumPercent", "maximum percent"),
                ("above", "upper bound", "extra task", "additional task", "alongside", "on top"),
            ),
        ),
    ),
    Relation(
        "scale-out vs scale-in alarm",
        (
            Actor(
                "the scale-out alarm",
                ("scale out", "scale up", "high alarm"),
                (
                    "3 datapoints",
                    "3 minutes",
                    "3 consecutive",
                    "above the target",
                    "add tasks",
                ),  # not "fast": a scale-out is slow when each new task pulls a big image
            ),
            Actor(
                "the scale-in alarm",
                ("scale in", "scale down", "low alarm"),
                (
                    "15 datapoints",
                    "15 minutes",
                    "15 consecutive",
                    "below the target",
                    "remove tasks",
                ),
            ),
        ),
    ),
    Relation(
        "container health check vs ALB target health (liveness vs readiness)",
        (
            Actor(
                "the container health check",
                (
                    "container health check",
                    "docker health check",
                    "liveness check",
                    "liveness probe",
                    "HEALTHCHECK instruction",
                ),
                ("curl", "localhost", "inside the container", "retries", "startPeriod"),
            ),
            Actor(
                "the ALB target health check",
                (
                    "alb health check",
                    "target group health check",
                    "target health check",
                    "load balancer health check",
                    "elb health check",
                    "readiness check",
                    "readiness probe",
                ),
                (
                    "stop routing",
                    "stops sending traffic",
                    "route traffic",
                    "healthy threshold",
                    "unhealthy threshold",
                    "fail open",
                ),
            ),
        ),
    ),
    Relation(
        "environment vs secrets",
        (
            Actor(
                "the environment block",
                (
                    "environment block",
                    "environment field",
                    "environment section",
                    "environment array",
                    "environment list",
                    "environment key",
                ),
                ("plain text", "in clear", "non-sensitive", "LOG_LEVEL", "literal value"),
            ),
            Actor(
                "the secrets block",
                (
                    "secrets block",
                    "secrets field",
                    "secrets section",
                    "secrets array",
                    "secrets list",
                ),
                (
                    "valueFrom",
                    "arn",
                    "secrets manager",
                    "parameter store",
                    "sensitive",
                    "api key",
                    "password",
                ),
            ),
        ),
    ),
    Relation(
        "exec form vs shell form",
        (
            Actor(
                "exec form",
                ("exec form", "exec form cmd", "json array form", "array form", "exec syntax"),
                (
                    "receives sigterm",
                    "receives the signal",
                    "forwards the signal",
                    "passes the signal",
                    "trap sigterm",
                    "handles sigterm",
                    "shuts down gracefully",
                    "graceful shutdown",
                ),
            ),
            Actor(
                "shell form",
                ("shell form", "shell form cmd", "string form", "shell syntax"),
                (
                    "swallows",
                    "never hears",
                    "killed hard",
                    "sh is pid 1",
                    "shell is pid 1",
                    "bin sh as pid 1",
                ),
            ),
        ),
        # no denials: "exec form has no shell to forward the signal" is right
    ),
    Relation(
        "awslogs blocking vs non-blocking mode",
        (
            Actor(
                "blocking mode",
                ("blocking mode", "mode blocking", "blocking"),
                (
                    "stall",
                    "stalls",
                    "freeze",
                    "hang",
                    "back pressure",
                    "never drops",
                    "lose nothing",
                ),
            ),
            Actor(
                "non-blocking mode",
                ("non blocking mode", "mode non blocking", "non blocking", "nonblocking"),
                (
                    "buffers in memory",
                    "buffers the logs",
                    "ring buffer",
                    "max buffer size",
                    "drops lines",
                    "drops logs",
                    "lose log",
                    "lost log",
                ),
            ),
        ),
        denials=True,
    ),
    Relation(
        "trust policy vs permission policy",
        (
            Actor(
                "the trust policy",
                ("trust policy", "trust relationship", "assume role policy"),
                (
                    "trusted principal",
                    "service principal",
                    "trusted entity",
                    "ecs tasks amazonaws",
                    "sub claim",
                    "which repo and branch",
                    "which repository and branch",
                ),
            ),
            Actor(
                "the permission policy",
                ("permission policy", "permissions policy", "identity policy", "identity based"),
                ("which actions", "what actions", "api calls", "actions and resources"),
            ),
        ),
    ),
    Relation("ALB 502 vs 504", (_A502, _A504)),
    Relation("ALB 503 vs 504", (_A503, _A504)),
    Relation("ALB 502 vs 503", (_A502, _A503)),
    Relation(
        "FARGATE vs FARGATE_SPOT",
        (
            Actor(
                "FARGATE (on demand)",
                # not bare "fargate": "Fargate is cheaper than EC2" is no claim about Spot
                (
                    "on demand",
                    "fargate on demand",
                    "regular fargate",
                    "standard fargate",
                    "plain fargate",
                    "fargate capacity provider",
                ),
                ("guaranteed", "never interrupted"),
            ),
            Actor(
                "FARGATE_SPOT",
                ("fargate spot", "spot", "spot capacity", "spot tasks"),
                (
                    "cheaper",
                    "discount",
                    "interrupted",
                    "interruption",
                    "reclaim",
                    "2 minute warning",
                ),
            ),
        ),
    ),
    Relation(
        "security groups vs network ACLs",
        (
            Actor(
                "security groups",
                ("security group", "sg", "sgs"),
                ("stateful", "return traffic automatically", "allow rules only", "eni level"),
            ),
            Actor(
                "network ACLs",
                ("nacl", "network acl", "network access control list"),
                ("stateless", "deny rules", "subnet level", "rule numbers"),
            ),
        ),
        denials=True,
    ),
    Relation(
        "target tracking vs step scaling",
        (
            Actor(
                "target tracking",
                ("target tracking", "target tracking policy", "target tracking scaling"),
                (
                    "thermostat",
                    "holds the metric at the target",
                    "keeps the metric near the target",
                    "target value",
                    "manages the alarms",
                    "creates the alarms for you",
                ),
            ),
            Actor(
                "step scaling",
                ("step scaling", "step scaling policy", "step policy"),
                (
                    "define the steps",
                    "step adjustments",
                    "alarms you create yourself",
                    "create the alarms yourself",
                    "your own alarm",
                    "define the alarm",
                ),
            ),
        ),
        denials=True,
    ),
)
