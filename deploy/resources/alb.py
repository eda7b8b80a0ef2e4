"""Keep the internet-facing ALB, its ip target group with /health checks, and its listeners."""

from __future__ import annotations

import re
from dataclasses import dataclass

from botocore.exceptions import ClientError

from deploy.aws.errors import InvalidInput, ResourceError, aws_errors
from deploy.aws.names import StackNames
from deploy.resources.contract import (
    UNKNOWN,
    Change,
    Result,
    diff,
    known,
    missing_tags,
    require,
    tag_map,
)
from deploy.resources.outputs import AlbOutputs, NetworkOutputs
from service.aws import AwsContext

# How long a *deregistering* target keeps draining in-flight requests before removal
# (errata 2: not "how long before an unhealthy target is removed" - the ALB never removes
# unhealthy targets, it stops routing to them). AWS's default is 300 s; the app finishes a
# request in seconds, so 30 s keeps deployments fast. Fargate Spot needs < 120 s.
DEREGISTRATION_DELAY = 30
DELAY_KEY = "deregistration_delay.timeout_seconds"
HTTPS_PORT = 443
# TLS 1.3 and 1.2 only, forward-secret ciphers: AWS's recommended policy for new listeners.
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
_CERTIFICATE = re.compile(r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[A-Za-z0-9-]+$")
# What AWS cannot change on a target group in place (delete it and ensure again).
FIXED = {"TargetType": "ip", "Protocol": "HTTP"}


def _find(ctx: AwsContext, call: str, key: str, name: str, what: str) -> dict | None:
    with aws_errors(f"{what} {name}", "elbv2"):
        try:
            return getattr(ctx.client("elbv2"), call)(Names=[name])[key][0]
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("TargetGroupNotFound", "LoadBalancerNotFound"):
                return None
            raise


def find_target_group(ctx: AwsContext, names: StackNames) -> dict | None:
    """Return describe_target_groups' row for the stack's target group, or None."""
    return _find(ctx, "describe_target_groups", "TargetGroups", names.target_group, "target group")


def find_load_balancer(ctx: AwsContext, names: StackNames) -> dict | None:
    """Return describe_load_balancers' row for the stack's ALB, or None."""
    return _find(ctx, "describe_load_balancers", "LoadBalancers", names.alb, "load balancer")


def target_group_arn(ctx: AwsContext, names: StackNames) -> str:
    """Return the target group's ARN (it must exist); ECS registers task IPs in it."""
    tg = find_target_group(ctx, names)
    if tg is None:
        raise ResourceError(f"target group {names.target_group} does not exist; run alb.ensure")
    return tg["TargetGroupArn"]


def load_balancer_arn(ctx: AwsContext, names: StackNames) -> str:
    """Return the ALB's ARN (it must exist)."""
    lb = find_load_balancer(ctx, names)
    if lb is None:
        raise ResourceError(f"load balancer {names.alb} does not exist; run alb.ensure")
    return lb["LoadBalancerArn"]


def dns_name(ctx: AwsContext, names: StackNames) -> str:
    """Return the ALB's public DNS name (what a browser or a Route 53 alias points at)."""
    lb = find_load_balancer(ctx, names)
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


@dataclass(frozen=True)
class Found:
    """The ALB side as it is: target group, its delay, load balancer, listeners, tags."""

    target_group: dict | None
    delay: str | None  # deregistration_delay.timeout_seconds, as AWS reports it
    load_balancer: dict | None
    listeners: dict[int, dict]
    tags: dict[str, dict[str, str]]  # by ARN


def find(ctx: AwsContext, names: StackNames) -> Found:
    """Describe the target group, the ALB, its listeners and both ARNs' tags, once each."""
    elb = ctx.client("elbv2")
    tg, lb = find_target_group(ctx, names), find_load_balancer(ctx, names)
    delay, listeners, tags = None, {}, {}
    with aws_errors(f"load balancer {names.alb}", "elbv2"):
        if tg is not None:
            attrs = elb.describe_target_group_attributes(TargetGroupArn=tg["TargetGroupArn"])
            delay = tag_map(attrs["Attributes"]).get(DELAY_KEY)
        if lb is not None:
            pages = elb.get_paginator("describe_listeners")
            for page in pages.paginate(LoadBalancerArn=lb["LoadBalancerArn"]):
                listeners.update({li["Port"]: li for li in page["Listeners"]})
        arns = [r[k] for r, k in ((tg, "TargetGroupArn"), (lb, "LoadBalancerArn")) if r]
        if arns:
            described = elb.describe_tags(ResourceArns=arns)["TagDescriptions"]
            tags = {d["ResourceArn"]: tag_map(d["Tags"]) for d in described}
    return Found(tg, delay, lb, listeners, tags)


def _check_delay(seconds: int) -> int:
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not 0 <= seconds <= 3600:
        raise InvalidInput(f"deregistration delay must be 0..3600 seconds, got {seconds!r}")
    return seconds


def _tag_drift(ctx: AwsContext, names: StackNames, found: Found, arn: str, apply: bool) -> dict:
    """Return {"tags": (have, want)} when the project tags are missing (adding them if apply)."""
    have = found.tags.get(arn, {})
    if not missing_tags(have, names.tags):
        return {}
    if apply:
        ctx.client("elbv2").add_tags(ResourceArns=[arn], Tags=names.tag_list())
    return {"tags": (have, names.tags)}


def _set_delay(ctx: AwsContext, arn: str, delay: int) -> None:
    ctx.client("elbv2").modify_target_group_attributes(
        TargetGroupArn=arn, Attributes=[{"Key": DELAY_KEY, "Value": str(delay)}]
    )


def _target_group(
    ctx: AwsContext, names: StackNames, found: Found, vpc_id: str, delay: int, apply: bool
) -> Change:
    want, tg, kind = health_check(names), found.target_group, "target-group"
    with aws_errors(f"target group {names.target_group}", "elbv2"):
        if tg is None:
            arn = None
            if apply:
                arn = ctx.client("elbv2").create_target_group(
                    Name=names.target_group,
                    Port=names.container_port,
                    VpcId=vpc_id,
                    Tags=names.tag_list(),
                    **FIXED,  # TargetType ip: Fargate tasks register by IP (awsvpc)
                    **want,
                )["TargetGroups"][0]["TargetGroupArn"]
                _set_delay(ctx, arn, delay)
            return Change(kind, names.target_group, "create", {**want, "delay": delay}, arn)
        arn = tg["TargetGroupArn"]
        frozen = diff(tg, {**FIXED, "Port": names.container_port, "VpcId": vpc_id})
        if not known(vpc_id):  # a plan without the network: the VPC cannot be compared yet
            frozen.pop("VpcId", None)
        if frozen:
            raise ResourceError(f"target group {names.target_group} has {frozen}; recreate it")
        detail = diff(tg, want)
        if found.delay != str(delay):
            detail["deregistration_delay"] = (found.delay, str(delay))
        detail.update(_tag_drift(ctx, names, found, arn, apply))
        if apply and detail.keys() - {"deregistration_delay", "tags"}:
            ctx.client("elbv2").modify_target_group(TargetGroupArn=arn, **want)
        if apply and "deregistration_delay" in detail:
            _set_delay(ctx, arn, delay)
    return Change(kind, names.target_group, "update" if detail else "unchanged", detail, arn)


def _load_balancer(
    ctx: AwsContext, names: StackNames, found: Found, network: NetworkOutputs, apply: bool
) -> tuple[Change, str]:
    """Return the ALB's change and its DNS name (UNKNOWN in a plan that would create it)."""
    lb, elb = found.load_balancer, ctx.client("elbv2")
    subnets, groups = sorted(network.subnet_ids), [network.alb_security_group_id]
    with aws_errors(f"load balancer {names.alb}", "elbv2"):
        if lb is None:
            arn, dns = None, UNKNOWN
            if apply:
                made = elb.create_load_balancer(
                    Name=names.alb,
                    Subnets=subnets,
                    SecurityGroups=groups,
                    Scheme="internet-facing",
                    Type="application",
                    IpAddressType="ipv4",
                    Tags=names.tag_list(),
                )["LoadBalancers"][0]
                arn, dns = made["LoadBalancerArn"], made["DNSName"]
            return Change("load-balancer", names.alb, "create", {"subnets": subnets}, arn), dns
        arn, detail = lb["LoadBalancerArn"], {}
        if lb["Scheme"] != "internet-facing":
            raise ResourceError(f"load balancer {names.alb} is internal; delete it and ensure")
        have_subnets = sorted(z["SubnetId"] for z in lb["AvailabilityZones"])
        if have_subnets != subnets:
            detail["subnets"] = (have_subnets, subnets)
        if lb.get("SecurityGroups", []) != groups:
            detail["security_groups"] = (lb.get("SecurityGroups"), groups)
        detail.update(_tag_drift(ctx, names, found, arn, apply))
        if apply and "subnets" in detail:
            elb.set_subnets(LoadBalancerArn=arn, Subnets=subnets)
        if apply and "security_groups" in detail:
            elb.set_security_groups(LoadBalancerArn=arn, SecurityGroups=groups)
    action = "update" if detail else "unchanged"
    return Change("load-balancer", names.alb, action, detail, arn), lb["DNSName"]


def desired_listeners(tg_arn: str, certificate_arn: str | None) -> dict[int, dict]:
    """Return the listeners by port: :80 forwards (or redirects to :443 with a certificate)."""
    # Without a certificate the service is plain HTTP: requests, answers and the API key
    # cross the internet unencrypted (stack.status says so).
    forward = [{"Type": "forward", "TargetGroupArn": tg_arn}]
    redirect = [{"Type": "redirect", "RedirectConfig": HTTPS_REDIRECT}]
    want = {80: {"Protocol": "HTTP", "DefaultActions": redirect if certificate_arn else forward}}
    if certificate_arn:
        want[HTTPS_PORT] = {
            "Protocol": "HTTPS",
            "DefaultActions": forward,
            "Certificates": [{"CertificateArn": certificate_arn}],
            "SslPolicy": SSL_POLICY,
        }
    return want


def _clean(value: object) -> object:
    # describe_listeners adds fields (Order, ForwardConfig, IsDefault) we do not set.
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        drop = {"Order", "ForwardConfig", "IsDefault"}
        return {k: _clean(v) for k, v in value.items() if k not in drop}
    return value


def _listeners(
    ctx: AwsContext,
    names: StackNames,
    found: Found,
    want: dict[int, dict],
    lb_arn: str,
    apply: bool,
) -> list[Change]:
    have, elb = found.listeners, ctx.client("elbv2")
    changes = []
    with aws_errors(f"listeners of {names.alb}", "elbv2"):
        for port in sorted(want.keys() | have.keys()):
            name, w, h = f"{names.alb}:{port}", want.get(port), have.get(port)
            if w is None:
                if apply:
                    elb.delete_listener(ListenerArn=h["ListenerArn"])
                changes.append(Change("listener", name, "delete", {}, h["ListenerArn"]))
            elif h is None:
                arn = None
                if apply:
                    made = elb.create_listener(LoadBalancerArn=lb_arn, Port=port, **w)
                    arn = made["Listeners"][0]["ListenerArn"]
                changes.append(Change("listener", name, "create", {"protocol": w["Protocol"]}, arn))
            else:
                detail = {k: (_clean(h.get(k)), v) for k, v in w.items() if _clean(h.get(k)) != v}
                if apply and detail:
                    elb.modify_listener(ListenerArn=h["ListenerArn"], Port=port, **w)
                action = "update" if detail else "unchanged"
                changes.append(Change("listener", name, action, detail, h["ListenerArn"]))
    return changes


def check_certificate_arn(arn: object) -> str:
    """Return `arn` if it looks like an ACM certificate ARN, else raise InvalidInput."""
    if not isinstance(arn, str) or not _CERTIFICATE.match(arn):
        raise InvalidInput(
            "certificate_arn must be an ACM certificate ARN "
            f"(arn:aws:acm:<region>:<account>:certificate/<id>), got {arn!r}"
        )
    return arn


def _converge(
    ctx: AwsContext,
    names: StackNames,
    network: NetworkOutputs,
    certificate_arn: str | None,
    delay: int,
    apply: bool,
) -> Result:
    if certificate_arn is not None:
        check_certificate_arn(certificate_arn)
    if certificate_arn and HTTPS_PORT not in network.alb_ports:
        raise InvalidInput(
            "certificate_arn needs the ALB security group to admit 443: apply the network "
            "with https=True too (stack.stack_options(certificate_arn=...) sets both)"
        )
    _check_delay(delay)
    if apply:
        require("the default VPC", "alb", network.vpc_id)
        require("two subnets", "alb", network.subnet_ids)
        require("the ALB security group", "alb", network.alb_security_group_id)
    found = find(ctx, names)
    tg = _target_group(ctx, names, found, network.vpc_id, delay, apply)
    lb, dns = _load_balancer(ctx, names, found, network, apply)
    tg_arn, lb_arn = tg.arn or UNKNOWN, lb.arn or UNKNOWN
    want = desired_listeners(tg_arn, certificate_arn)
    listeners = _listeners(ctx, names, found, want, lb_arn, apply)
    outputs = AlbOutputs(
        load_balancer_arn=lb_arn,
        target_group_arn=tg_arn,
        dns_name=dns,
        health_check=health_check(names),  # what the target group has once converged
        deregistration_delay_s=delay,
        https=bool(certificate_arn),
    )
    return Result([tg, lb, *listeners], outputs)


def plan(
    ctx: AwsContext,
    names: StackNames,
    *,
    network: NetworkOutputs,
    certificate_arn: str | None = None,
    deregistration_delay: int = DEREGISTRATION_DELAY,
) -> Result:
    """Return what ensure would do to the target group, the ALB and its listeners."""
    return _converge(ctx, names, network, certificate_arn, deregistration_delay, apply=False)


def ensure(
    ctx: AwsContext,
    names: StackNames,
    *,
    network: NetworkOutputs,
    certificate_arn: str | None = None,
    deregistration_delay: int = DEREGISTRATION_DELAY,
) -> Result:
    """Create or converge the target group, the ALB, :80 and (with a certificate) :443."""
    return _converge(ctx, names, network, certificate_arn, deregistration_delay, apply=True)


def describe(ctx: AwsContext, names: StackNames) -> dict:
    """Return the ALB's DNS name, state, listeners and the target group's health check."""
    found = find(ctx, names)
    lb, tg = found.load_balancer, found.target_group
    out: dict = {"load_balancer": None, "target_group": None, "listeners": []}
    if lb is not None:
        out["load_balancer"] = {
            "arn": lb["LoadBalancerArn"],
            "dns_name": lb["DNSName"],
            "scheme": lb["Scheme"],
            "state": lb["State"]["Code"],
            "zones": sorted(z["ZoneName"] for z in lb["AvailabilityZones"]),
        }
        out["listeners"] = [
            {"port": port, "protocol": li["Protocol"], "action": li["DefaultActions"][0]["Type"]}
            for port, li in sorted(found.listeners.items())
        ]
    if tg is not None:
        out["target_group"] = {
            "arn": tg["TargetGroupArn"],
            **{k: tg.get(k) for k in health_check(names)},
            "deregistration_delay_s": int(found.delay) if found.delay else None,
            "targets": len(target_health(ctx, tg["TargetGroupArn"])),
        }
    return out


def target_health(ctx: AwsContext, target_group_arn: str) -> list[dict]:
    """Return describe_target_health rows (id, port, state, reason); moto says healthy to all."""
    # moto reports every registered target "healthy" at once and runs no checks: the
    # timings AWS would show come from deploy.models.rollout, a labelled model.
    with aws_errors(f"target group {target_group_arn}", "elbv2"):
        rows = ctx.client("elbv2").describe_target_health(TargetGroupArn=target_group_arn)
    return [
        {
            "id": r["Target"]["Id"],
            "port": r["Target"].get("Port"),
            "state": r["TargetHealth"]["State"],
            "reason": r["TargetHealth"].get("Reason"),
        }
        for r in rows["TargetHealthDescriptions"]
    ]


def delete(ctx: AwsContext, names: StackNames) -> list[Change]:
    """Delete the ALB (its listeners go with it), then the target group."""
    lb, tg = find_load_balancer(ctx, names), find_target_group(ctx, names)
    elb, changes = ctx.client("elbv2"), []
    with aws_errors(f"load balancer {names.alb}", "elbv2"):
        if lb is None:
            changes.append(Change("load-balancer", names.alb, "absent"))
        else:
            elb.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])
            changes.append(Change("load-balancer", names.alb, "delete", {}, lb["LoadBalancerArn"]))
        if tg is None:
            changes.append(Change("target-group", names.target_group, "absent"))
        else:
            elb.delete_target_group(TargetGroupArn=tg["TargetGroupArn"])
            changes.append(
                Change("target-group", names.target_group, "delete", {}, tg["TargetGroupArn"])
            )
    return changes
