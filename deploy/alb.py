"""Keep the internet-facing ALB, its ip target group with /health checks, and its listeners."""

from botocore.exceptions import ClientError

from deploy import network
from deploy.changes import Change
from deploy.clients import client
from deploy.errors import InvalidInput, ResourceError, aws_errors
from deploy.names import StackNames

# How long a *deregistering* target keeps draining in-flight requests before removal
# (errata 2: not "how long before an unhealthy target is removed" - the ALB never removes
# unhealthy targets, it stops routing to them). AWS's default is 300 s; the app finishes a
# request in seconds, so 30 s keeps deployments fast. Fargate Spot needs < 120 s.
DEREGISTRATION_DELAY = 30
SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
# errata 21: redirects use #{...} placeholders, not ${...}.
HTTPS_REDIRECT = {
    "Protocol": "HTTPS",
    "Port": "443",
    "Host": "#{host}",
    "Path": "/#{path}",
    "Query": "#{query}",
    "StatusCode": "HTTP_301",
}


def _elb():
    return client("elbv2")


def _missing(exc: ClientError) -> bool:
    return exc.response["Error"]["Code"] in ("TargetGroupNotFound", "LoadBalancerNotFound")


def _find(call: str, key: str, name: str, what: str) -> dict | None:
    with aws_errors(f"{what} {name}", "elbv2"):
        try:
            return getattr(_elb(), call)(Names=[name])[key][0]
        except ClientError as exc:
            if _missing(exc):
                return None
            raise


def find_target_group(names: StackNames) -> dict | None:
    """Return describe_target_groups' row for the stack's target group, or None."""
    return _find("describe_target_groups", "TargetGroups", names.target_group, "target group")


def find_load_balancer(names: StackNames) -> dict | None:
    """Return describe_load_balancers' row for the stack's ALB, or None."""
    return _find("describe_load_balancers", "LoadBalancers", names.alb, "load balancer")


def target_group_arn(names: StackNames) -> str:
    """Return the target group's ARN (it must exist); ECS registers task IPs in it."""
    tg = find_target_group(names)
    if tg is None:
        raise ResourceError(f"target group {names.target_group} does not exist; run alb.ensure")
    return tg["TargetGroupArn"]


def load_balancer_arn(names: StackNames) -> str:
    """Return the ALB's ARN (it must exist)."""
    lb = find_load_balancer(names)
    if lb is None:
        raise ResourceError(f"load balancer {names.alb} does not exist; run alb.ensure")
    return lb["LoadBalancerArn"]


def dns_name(names: StackNames) -> str:
    """Return the ALB's public DNS name (what a browser or a Route 53 alias points at)."""
    lb = find_load_balancer(names)
    return lb["DNSName"] if lb else ""


def health_check(names: StackNames) -> dict:
    """Return the target group's desired health-check settings."""
    # Unhealthy after 2 consecutive failures (~60 s at 30 s intervals), healthy after 2 passes.
    return {
        "HealthCheckProtocol": "HTTP",
        "HealthCheckPath": names.health_path,
        "HealthCheckIntervalSeconds": 30,
        "HealthCheckTimeoutSeconds": 5,
        "HealthyThresholdCount": 2,
        "UnhealthyThresholdCount": 2,
        "Matcher": {"HttpCode": "200"},
    }


def _tag_drift(arn: str, names: StackNames, apply: bool) -> dict:
    """Return {"tags": (have, want)} when the project tags are missing (adding them if apply)."""
    described = _elb().describe_tags(ResourceArns=[arn])["TagDescriptions"]
    have = {t["Key"]: t["Value"] for d in described for t in d["Tags"]}
    if all(have.get(k) == v for k, v in names.tags.items()):
        return {}
    if apply:
        _elb().add_tags(ResourceArns=[arn], Tags=names.tag_list())
    return {"tags": (have, names.tags)}


def _check_delay(seconds: int) -> int:
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not 0 <= seconds <= 3600:
        raise InvalidInput(f"deregistration delay must be 0..3600 seconds, got {seconds!r}")
    return seconds


def _target_group(names: StackNames, delay: int, apply: bool) -> Change:
    want = health_check(names)
    elb, tg = _elb(), find_target_group(names)
    with aws_errors(f"target group {names.target_group}", "elbv2"):
        if tg is None:
            arn = None
            if apply:
                arn = elb.create_target_group(
                    Name=names.target_group,
                    Protocol="HTTP",
                    Port=names.container_port,
                    VpcId=network.find_default_vpc(),
                    TargetType="ip",  # Fargate tasks register by IP (awsvpc), not instance
                    Tags=names.tag_list(),
                    **want,
                )["TargetGroups"][0]["TargetGroupArn"]
                _set_delay(arn, delay)
            return Change(
                "target-group", names.target_group, "create", {**want, "delay": delay}, arn
            )
        arn = tg["TargetGroupArn"]
        detail = {k: (tg.get(k), v) for k, v in want.items() if tg.get(k) != v}
        attrs = elb.describe_target_group_attributes(TargetGroupArn=arn)["Attributes"]
        current = {a["Key"]: a["Value"] for a in attrs}.get("deregistration_delay.timeout_seconds")
        if current != str(delay):
            detail["deregistration_delay"] = (current, str(delay))
        fixed = {"Port": names.container_port, "TargetType": "ip", "Protocol": "HTTP"}
        frozen = {k: (tg.get(k), v) for k, v in fixed.items() if tg.get(k) != v}
        if frozen:  # AWS cannot change these in place: delete the group and ensure again
            raise ResourceError(f"target group {names.target_group} has {frozen}; recreate it")
        detail.update(_tag_drift(arn, names, apply))
        if apply and (detail.keys() - {"deregistration_delay", "tags"}):
            elb.modify_target_group(TargetGroupArn=arn, **want)
        if apply and "deregistration_delay" in detail:
            _set_delay(arn, delay)
    return Change(
        "target-group", names.target_group, "update" if detail else "unchanged", detail, arn
    )


def _set_delay(arn: str, delay: int) -> None:
    _elb().modify_target_group_attributes(
        TargetGroupArn=arn,
        Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": str(delay)}],
    )


def _load_balancer(names: StackNames, apply: bool) -> Change:
    elb, lb = _elb(), find_load_balancer(names)
    subnets = network.subnets(names)
    sg = network.find_security_group(names, "alb")
    sg_id = sg["GroupId"] if sg else "<alb security group>"
    with aws_errors(f"load balancer {names.alb}", "elbv2"):
        if lb is None:
            arn = None
            if apply:
                arn = elb.create_load_balancer(
                    Name=names.alb,
                    Subnets=subnets,
                    SecurityGroups=[network.security_group_id(names, "alb")],
                    Scheme="internet-facing",
                    Type="application",
                    IpAddressType="ipv4",
                    Tags=names.tag_list(),
                )["LoadBalancers"][0]["LoadBalancerArn"]
            return Change("load-balancer", names.alb, "create", {"subnets": subnets}, arn)
        arn, detail = lb["LoadBalancerArn"], {}
        have_subnets = sorted(z["SubnetId"] for z in lb["AvailabilityZones"])
        if have_subnets != sorted(subnets):
            detail["subnets"] = (have_subnets, sorted(subnets))
        if lb.get("SecurityGroups", []) != [sg_id]:
            detail["security_groups"] = (lb.get("SecurityGroups"), [sg_id])
        if lb["Scheme"] != "internet-facing":
            raise ResourceError(f"load balancer {names.alb} is internal; delete it and ensure")
        detail.update(_tag_drift(arn, names, apply))
        if apply and "subnets" in detail:
            elb.set_subnets(LoadBalancerArn=arn, Subnets=subnets)
        if apply and "security_groups" in detail:
            elb.set_security_groups(LoadBalancerArn=arn, SecurityGroups=[sg_id])
    return Change("load-balancer", names.alb, "update" if detail else "unchanged", detail, arn)


def _listeners(names: StackNames, certificate_arn: str | None, apply: bool) -> list[Change]:
    lb, tg = find_load_balancer(names), find_target_group(names)
    tg_arn = tg["TargetGroupArn"] if tg else "<target group>"
    forward = [{"Type": "forward", "TargetGroupArn": tg_arn}]
    redirect = [{"Type": "redirect", "RedirectConfig": HTTPS_REDIRECT}]
    want = {80: {"Protocol": "HTTP", "DefaultActions": redirect if certificate_arn else forward}}
    if certificate_arn:
        want[443] = {
            "Protocol": "HTTPS",
            "DefaultActions": forward,
            "Certificates": [{"CertificateArn": certificate_arn}],
            "SslPolicy": SSL_POLICY,
        }
    have = {}
    elb = _elb()
    with aws_errors(f"listeners of {names.alb}", "elbv2"):
        if lb is not None:
            for li in elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]:
                have[li["Port"]] = li
        changes = []
        for port in sorted(want.keys() | have.keys()):
            name = f"{names.alb}:{port}"
            w, h = want.get(port), have.get(port)
            if w is None:
                if apply:
                    elb.delete_listener(ListenerArn=h["ListenerArn"])
                changes.append(Change("listener", name, "delete", {}, h["ListenerArn"]))
            elif h is None:
                arn = None
                if apply:
                    arn = elb.create_listener(
                        LoadBalancerArn=load_balancer_arn(names), Port=port, **w
                    )["Listeners"][0]["ListenerArn"]
                changes.append(Change("listener", name, "create", {"protocol": w["Protocol"]}, arn))
            else:
                detail = {k: (_clean(h.get(k)), v) for k, v in w.items() if _clean(h.get(k)) != v}
                if apply and detail:
                    elb.modify_listener(ListenerArn=h["ListenerArn"], Port=port, **w)
                action = "update" if detail else "unchanged"
                changes.append(Change("listener", name, action, detail, h["ListenerArn"]))
    return changes


def _clean(value: object) -> object:
    # describe_listeners adds fields (Order, ForwardConfig, IsDefault) we do not set.
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        drop = {"Order", "ForwardConfig", "IsDefault"}
        return {k: _clean(v) for k, v in value.items() if k not in drop}
    return value


def _converge(names: StackNames, apply: bool, certificate_arn: str | None, delay: int) -> list:
    if certificate_arn is not None and not str(certificate_arn).startswith("arn:"):
        raise InvalidInput(
            f"certificate_arn must be an ACM certificate ARN, got {certificate_arn!r}"
        )
    _check_delay(delay)
    changes = [_target_group(names, delay, apply), _load_balancer(names, apply)]
    return changes + _listeners(names, certificate_arn, apply)


def plan(
    names: StackNames,
    *,
    certificate_arn: str | None = None,
    deregistration_delay: int = DEREGISTRATION_DELAY,
) -> list[Change]:
    """Return what ensure would do to the target group, the ALB and its listeners."""
    return _converge(names, False, certificate_arn, deregistration_delay)


def ensure(
    names: StackNames,
    *,
    certificate_arn: str | None = None,
    deregistration_delay: int = DEREGISTRATION_DELAY,
) -> list[Change]:
    """Create or converge the target group, the ALB, :80 and (with a certificate) :443."""
    # Needs network.ensure first (the ALB security group and the default subnets).
    return _converge(names, True, certificate_arn, deregistration_delay)


def describe(names: StackNames) -> dict:
    """Return the ALB's DNS name, state, listeners and the target group's health check."""
    lb, tg = find_load_balancer(names), find_target_group(names)
    out: dict = {"load_balancer": None, "target_group": None, "listeners": []}
    with aws_errors(f"load balancer {names.alb}", "elbv2"):
        if lb is not None:
            out["load_balancer"] = {
                "arn": lb["LoadBalancerArn"],
                "dns_name": lb["DNSName"],
                "scheme": lb["Scheme"],
                "state": lb["State"]["Code"],
                "zones": sorted(z["ZoneName"] for z in lb["AvailabilityZones"]),
            }
            listeners = _elb().describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])
            out["listeners"] = [
                {
                    "port": li["Port"],
                    "protocol": li["Protocol"],
                    "action": li["DefaultActions"][0]["Type"],
                }
                for li in listeners["Listeners"]
            ]
        if tg is not None:
            out["target_group"] = {
                "arn": tg["TargetGroupArn"],
                **{k: tg.get(k) for k in health_check(names)},
                "targets": len(target_health(names)),
            }
    return out


def target_health(names: StackNames) -> list[dict]:
    """Return describe_target_health rows (id, port, state, reason); moto says healthy to all."""
    # moto reports every registered target "healthy" at once and runs no checks: the
    # timings AWS would show come from deploy.rollout, a labelled model.
    with aws_errors(f"target group {names.target_group}", "elbv2"):
        rows = _elb().describe_target_health(TargetGroupArn=target_group_arn(names))
    return [
        {
            "id": r["Target"]["Id"],
            "port": r["Target"].get("Port"),
            "state": r["TargetHealth"]["State"],
            "reason": r["TargetHealth"].get("Reason"),
        }
        for r in rows["TargetHealthDescriptions"]
    ]


def delete(names: StackNames) -> list[Change]:
    """Delete the ALB (its listeners go with it), then the target group."""
    changes = []
    lb, tg = find_load_balancer(names), find_target_group(names)
    with aws_errors(f"load balancer {names.alb}", "elbv2"):
        if lb is None:
            changes.append(Change("load-balancer", names.alb, "absent"))
        else:
            _elb().delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])
            changes.append(Change("load-balancer", names.alb, "delete", {}, lb["LoadBalancerArn"]))
        if tg is None:
            changes.append(Change("target-group", names.target_group, "absent"))
        else:
            _elb().delete_target_group(TargetGroupArn=tg["TargetGroupArn"])
            changes.append(
                Change("target-group", names.target_group, "delete", {}, tg["TargetGroupArn"])
            )
    return changes
