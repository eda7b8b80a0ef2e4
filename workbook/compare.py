"""Compare resources the learner made by hand with the package's reference, field by field.

The comparison is `deploy.stack.plan` itself (nothing here decides what is right): a plan with
0 changes means the learner's resources match. Where the plan would update a field, each
difference is named with the reason it matters, so a typical mistake reads as a diagnosis.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from deploy import stack
from deploy.aws.names import StackNames
from deploy.models import policies
from deploy.resources.contract import Change
from service.aws import AwsContext

EXECUTION_POLICY_NAME = policies.EXECUTION_MANAGED_POLICY.rsplit("/", 1)[1]

# Why an action the reference grants is needed: what breaks without it.
NEEDED_FOR = {
    "logs:CreateLogGroup": (
        "ECS creates the log group at start (awslogs-create-group); without it the task "
        "fails to start with ResourceInitializationError"
    ),
    "secretsmanager:GetSecretValue": (
        "ECS reads the secret to inject it as environment variables; without it the task "
        "fails to start with ResourceInitializationError (unable to retrieve secret)"
    ),
    "s3:ListBucket": "listing the stored documents fails with AccessDenied",
    "s3:GetObject": "reading a stored document fails with AccessDenied",
    "s3:PutObject": "uploading a document fails with AccessDenied",
    "s3:DeleteObject": "deleting a document fails with AccessDenied",
}
DYNAMODB_NEED = "the chat history calls fail with AccessDeniedException"

# Why an action the reference does not grant to this role is wrong there, by service.
WRONG_ON_TASK_ROLE = {
    "ecr": (
        "pulling the image is the execution role's job (ECS pulls it before your code "
        "starts); the app never calls ECR, so a compromised container could read or push images"
    ),
    "secretsmanager": (
        "ECS injects the secret through the execution role; the app never reads Secrets "
        "Manager itself, so this only widens what a compromised container can read"
    ),
    "logs": "ECS ships the container's stdout through the execution role; the app needs no logs:*",
}
EXTRA = "every extra action is one more thing a compromised container could do (least privilege)"


@dataclass(frozen=True)
class Finding:
    """One field of one resource that differs from the reference, and why it matters."""

    kind: str
    name: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.kind} {self.name} · {self.field}: {self.message}"


@dataclass
class Comparison:
    """What the plan says about the learner's resources: missing ones and differing fields."""

    checked: list[str]
    missing: list[Change] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def matches(self) -> bool:
        """Return True when every checked resource exists and the plan has 0 changes for it."""
        return not self.missing and not self.findings

    def __str__(self) -> str:
        if self.matches:
            return f"0 changes: {', '.join(self.checked)} match the package's reference"
        lines = [f"{len(self.missing) + len(self.findings)} change(s) from the reference:"]
        lines += [
            f"  - {c.kind} {c.name}: not done yet (it does not exist; plan would create it)"
            for c in self.missing
        ]
        lines += [f"  - {f}" for f in self.findings]
        return "\n".join(lines)


def against_reference(
    ctx: AwsContext,
    names: StackNames,
    resources: dict[str, Iterable[str]],
    *,
    options: dict[str, dict] | None = None,
) -> Comparison:
    """Plan the stack modules in `resources` and explain the changes to the named resources."""
    wanted = {module: set(items) for module, items in resources.items()}
    unknown = sorted(set(wanted) - set(stack.NEEDS))
    if unknown:
        raise ValueError(f"unknown stack module(s) {unknown}; the stack has {list(stack.NEEDS)}")
    planned = stack.plan(ctx, names, target=tuple(wanted), options=options)
    named = set().union(*wanted.values())
    result = Comparison(checked=sorted(named))
    for change in planned.changes:
        if change.name not in named:
            continue
        if change.action == "create":
            result.missing.append(change)
        elif change.action in ("update", "delete"):
            result.findings += explain(change, names)
    return result


def explain(change: Change, names: StackNames) -> list[Finding]:
    """Return one finding per field of a planned update, each saying why the field matters."""
    found = []
    for name, pair in change.detail.items():
        have, want = pair if isinstance(pair, tuple) and len(pair) == 2 else (pair, None)
        explainer = EXPLAINERS.get((change.kind, name)) or EXPLAINERS.get(("*", name))
        messages = (
            explainer(have, want, change.name, names)
            if explainer
            else [f"is {have!r}; the reference has {want!r}"]
        )
        found += [Finding(change.kind, change.name, name, m) for m in messages]
    return found


# ---- IAM roles ------------------------------------------------------------------------------


def _listed(value: object) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple | set) else [value]


def _statements(doc: object) -> list[dict]:
    if not isinstance(doc, dict):
        return []
    return [s for s in _listed(doc.get("Statement")) if isinstance(s, dict)]


def _principals(doc: object) -> list[str]:
    out = []
    for s in _statements(doc):
        principal = s.get("Principal")
        if isinstance(principal, dict):
            for values in principal.values():
                out += [str(v) for v in _listed(values)]
        elif principal is not None:
            out.append(str(principal))
    return out


def trust_findings(have: object, want: object, role: str = "", names: object = None) -> list[str]:
    """Return what is wrong with a role's trust policy compared with the reference's."""
    problems = []
    principals = _principals(have)
    if policies.ECS_TASKS not in principals:
        shown = ", ".join(principals) or "missing"
        problems.append(
            f"trust policy principal is {shown}: ECS tasks assume roles via "
            f"{policies.ECS_TASKS} — tasks fail with 'ECS was unable to assume the role'"
        )
    actions = {a for s in _statements(have) for a in _listed(s.get("Action"))}
    if "sts:AssumeRole" not in actions:
        problems.append(
            f"trust policy allows {sorted(actions) or 'no action'}: a service principal "
            "assumes a role with sts:AssumeRole, so ECS cannot assume this one"
        )
    conditions = [s.get("Condition") for s in _statements(have) if s.get("Condition")]
    wanted = [s.get("Condition") for s in _statements(want) if s.get("Condition")]
    if wanted and not conditions:
        problems.append(
            "trust policy has no aws:SourceAccount / aws:SourceArn condition: ECS acting for "
            "any account could then be made to assume the role (the confused deputy); AWS "
            "recommends both on its 'Amazon ECS task IAM role' page"
        )
    elif wanted and conditions != wanted:
        problems.append(
            f"trust policy condition is {conditions[0]}; the reference allows only this "
            f"account's ECS in this region: {wanted[0]}"
        )
    if not problems:
        problems.append(
            "trust policy grants the same but is written differently (Sid, list or layout); "
            f"plan compares documents exactly, the reference is {policies.to_json(want)}"
        )
    return problems


def _short(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def _managed(have: object, want: object, role: str, names: StackNames) -> list[str]:
    have_set, want_set = set(_listed(have)), set(_listed(want))
    problems = []
    for arn in sorted(want_set - have_set):
        why = "the reference attaches it"
        if arn == policies.EXECUTION_MANAGED_POLICY:
            why = (
                "it lets ECS pull the image from ECR and write the container's logs; without it "
                "tasks stop with CannotPullContainerError"
            )
        problems.append(f"managed policy {_short(arn)} is not attached: {why}")
    for arn in sorted(have_set - want_set):
        why = f"the role's holder gets every right in it; {EXTRA}"
        if arn == policies.EXECUTION_MANAGED_POLICY and role == names.task_role:
            why = (
                "that policy is for the execution role (ECS pulls images and writes logs, "
                "not your code); on the task role it hands the app ECR and log rights"
            )
        problems.append(f"managed policy {_short(arn)} is attached: {why}")
    return problems


def _grants(doc: object) -> dict[str, set[str]]:
    """Return action -> resources for a policy's Allow statements."""
    out: dict[str, set[str]] = {}
    for s in _statements(doc):
        if s.get("Effect", "Allow") != "Allow":
            continue
        for action in _listed(s.get("Action")):
            out.setdefault(str(action), set()).update(str(r) for r in _listed(s.get("Resource")))
    return out


def _covered(action: str, grants: dict[str, set[str]]) -> set[str] | None:
    """Return the resources `action` is granted on, counting wildcards such as ecr:* or *."""
    found: set[str] = set()
    hit = False
    for granted, resources in grants.items():
        service, _, verb = granted.partition(":")
        if granted in ("*", action) or (verb == "*" and action.startswith(service + ":")):
            found |= resources
            hit = True
    return found if hit else None


def _why_missing(action: str) -> str:
    if action.startswith("dynamodb:"):
        return DYNAMODB_NEED
    return NEEDED_FOR.get(action, "the reference grants it")


def _why_extra(action: str, role: str, names: StackNames | None) -> str:
    service = action.split(":", 1)[0]
    if names is not None and role == names.task_role and service in WRONG_ON_TASK_ROLE:
        return WRONG_ON_TASK_ROLE[service]
    if "*" in action:
        return f"a wildcard grants every {service} action, including ones nobody reviewed"
    return EXTRA


def _scope(action: str, have: set[str], want: set[str]) -> str:
    shown, wanted = ", ".join(sorted(have)), ", ".join(sorted(want))
    if "*" in have:
        return (
            f'{action} on Resource "*" reaches every such resource in the account; the '
            f"reference scopes it to {wanted}"
        )
    if action == "s3:ListBucket":
        return (
            f"s3:ListBucket acts on the bucket itself: its Resource is the bucket ARN ({wanted}),"
            f" not its objects ({shown}); as written, listing is denied"
        )
    if action.startswith("s3:") and all(not r.endswith("/*") for r in have):
        return (
            f"{action} acts on objects, so its Resource is {wanted}; on {shown} it matches no "
            "object and the call is denied"
        )
    if any(r.endswith("-*") and ":secret:" in r for r in have):
        return (
            f"{action} on {shown}: '-*' also matches other secrets whose names start the same; "
            f"the reference names {wanted} ('??????' is exactly the 6-character suffix)"
        )
    return f"{action} applies to {shown}; the reference scopes it to {wanted}"


def policy_findings(
    have: object, want: dict, role: str = "", names: StackNames | None = None
) -> list[str]:
    """Return how a policy document differs from the reference in what it allows, and why."""
    if not isinstance(have, dict) or not _statements(have):
        return ["is not a policy document ({'Version': ..., 'Statement': [...]})"]
    got, ref = _grants(have), _grants(want)
    problems = []
    for action in sorted(ref):
        resources = _covered(action, got)
        if resources is None:
            problems.append(f"lacks {action}: {_why_missing(action)}")
        elif resources != ref[action]:
            problems.append(_scope(action, resources, ref[action]))
    for action in sorted(got):
        if action not in ref:
            why = _why_extra(action, role, names)
            problems.append(f"grants {action}, which the reference does not: {why}")
    if not problems and have != want:
        problems.append(
            "allows the same but is written differently (Sid, order or layout); plan compares "
            "documents exactly"
        )
    return problems


def _inline(have: object, want: object, role: str, names: StackNames) -> list[str]:
    have_map = have if isinstance(have, dict) else {}
    want_map = want if isinstance(want, dict) else {}
    problems = []
    for pname, doc in want_map.items():
        if pname in have_map:
            found = policy_findings(have_map[pname], doc, role, names)
            problems += [f"inline policy {pname} {p}" for p in found]
            continue
        same = [n for n, d in have_map.items() if d == doc]
        if same:
            problems.append(f"inline policy is named {same[0]}; the reference calls it {pname}")
        else:
            lacking = ", ".join(sorted(_grants(doc)))
            problems.append(f"inline policy {pname} is missing: the role lacks {lacking}")
    for pname in sorted(set(have_map) - set(want_map)):
        if have_map[pname] not in want_map.values():
            extra = ", ".join(sorted(_grants(have_map[pname]))) or "nothing"
            problems.append(f"inline policy {pname} is extra (grants {extra}): {EXTRA}")
    return problems


# ---- every resource ---------------------------------------------------------------------------


def _tags(have: object, want: object, name: str, names: StackNames) -> list[str]:
    return [
        f"tags are {have or {}}; every stack resource carries {want}: cost reports and the "
        "teardown's leftover check find what belongs to the stack by that tag"
    ]


# ---- ECR ----------------------------------------------------------------------------------------


def _mutability(have: object, want: object, name: str, names: StackNames) -> list[str]:
    if have == "MUTABLE":
        return [
            "repository is MUTABLE (AWS's default): a push can move a tag to another build, so "
            "a commit-SHA tag may no longer name what was tested; create it with "
            "imageTagMutability='IMMUTABLE'"
        ]
    return [f"tag mutability is {have!r}; the reference has {want!r}"]


def _scan(have: object, want: object, name: str, names: StackNames) -> list[str]:
    return [
        "scan on push is off: a pushed image's OS packages are not checked for known CVEs "
        "until someone starts a scan (imageScanningConfiguration={'scanOnPush': True})"
    ]


def _lifecycle(have: object, want: object, name: str, names: StackNames) -> list[str]:
    if have is None:
        return [
            "no lifecycle policy: every pushed image is kept and billed per GB-month; the "
            "reference keeps the newest 10 (put_lifecycle_policy)"
        ]
    return [f"lifecycle policy is {have}; the reference is {want}"]


# ---- security groups (chapter 06) ------------------------------------------------------------


def _ports(rule: tuple) -> str:
    proto, low, high, _ = rule
    if proto == "-1":
        return "all traffic"
    return f"{proto} {low}" if low == high else f"{proto} {low}-{high}"


def _source(rule: tuple) -> str:
    return f"group {rule[3]}" if str(rule[3]).startswith(("sg-", "<")) else str(rule[3])


def _sg_extra(have: object, want: object, name: str, names: StackNames) -> list[str]:
    port, problems = names.container_port, []
    for rule in _listed(have):
        where, src = _ports(rule), _source(rule)
        opens_app = rule[0] == "-1" or (rule[0] == "tcp" and rule[1] <= port <= rule[2])
        if name == names.task_security_group and opens_app and not str(rule[3]).startswith("sg-"):
            problems.append(
                f"task security group admits {rule[3]} on {port}: should admit only the ALB's "
                "group (UserIdGroupPairs, not a CIDR); with a CIDR anything that reaches a "
                "task's IP goes around the ALB, its listener rules and its health checks"
            )
        elif name == names.task_security_group:
            problems.append(
                f"task security group admits {where} from {src}: the container listens on "
                f"{port} only, and only the ALB's group needs it; every extra rule is one more "
                "way in"
            )
        elif rule[0] == "tcp" and rule[1] == 443:
            problems.append(
                f"ALB security group admits 443 from {src}: nothing listens there until the "
                "stack has a certificate and an HTTPS listener (chapter 07); the reference "
                "opens 443 only then"
            )
        else:
            problems.append(
                f"ALB security group admits {where} from {src}: the ALB listens on 80 (and 443 "
                "with HTTPS) only; every extra open port is one more way in"
            )
    return problems


def _sg_missing(have: object, want: object, name: str, names: StackNames) -> list[str]:
    problems = []
    for rule in _listed(have):
        where, src = _ports(rule), _source(rule)
        if name == names.task_security_group:
            problems.append(
                f"task security group does not admit {where} from the ALB's {src}: the ALB's "
                "requests and health checks time out, targets turn unhealthy, ECS keeps "
                "replacing the tasks and clients get 5xx errors (503, 504)"
            )
        elif rule[3] == "::/0":
            problems.append(
                f"ALB security group does not admit {where} from ::/0: IPv6 clients of a "
                "dual-stack ALB cannot connect; the reference admits IPv4 and IPv6"
            )
        else:
            problems.append(
                f"ALB security group does not admit {where} from {src}: clients on the "
                "internet cannot reach the load balancer (their connection times out)"
            )
    return problems


# ---- Secrets Manager --------------------------------------------------------------------------


def _api_key_missing(have: object, want: object, name: str, names: StackNames) -> list[str]:
    return [
        "API_KEY is missing or empty: the service would then answer anyone on the internet "
        "without a key; store a generated one (secrets.token_urlsafe(32)), which apply keeps"
    ]


def _restore(have: object, want: object, name: str, names: StackNames) -> list[str]:
    return [
        "the secret is scheduled for deletion: its name stays taken during the recovery window "
        "and ECS cannot read it (restore_secret brings it back)"
    ]


Explainer = Callable[[object, object, str, StackNames], list[str]]
EXPLAINERS: dict[tuple[str, str], Explainer] = {
    ("iam-role", "trust"): trust_findings,
    ("iam-role", "managed"): _managed,
    ("iam-role", "inline"): _inline,
    ("ecr-repository", "tag_mutability"): _mutability,
    ("ecr-repository", "scan_on_push"): _scan,
    ("ecr-repository", "lifecycle"): _lifecycle,
    ("secret", "keys_generated"): _api_key_missing,
    ("secret", "restore"): _restore,
    ("*", "tags"): _tags,
    # chapter 06: plan lists a group's extra rules as revoke, its missing ones as authorize
    ("security-group", "revoke"): _sg_extra,
    ("security-group", "authorize"): _sg_missing,
}


# ---- chapter 11: the documents bucket and the chat-history table ------------------------------


def _versioning(have: object, want: object, name: str, names: StackNames) -> list[str]:
    status = (have or {}).get("Status", "never enabled") if isinstance(have, dict) else have
    return [
        f"versioning is {status or 'never enabled'}: an overwritten or deleted document or "
        "index snapshot is gone for good; with it on, S3 keeps the old version (the lifecycle "
        "rule expires old versions after 30 days)"
    ]


def _public_block(have: object, want: object, name: str, names: StackNames) -> list[str]:
    if not isinstance(have, dict):
        return [
            "no public access block: a bucket policy or ACL could then make the users' uploaded "
            "documents public; set all four flags (AWS turns them on for new buckets since "
            "April 2023, but the reference states them so plan can see them)"
        ]
    off = sorted(k for k, v in (want or {}).items() if not have.get(k))
    return [
        f"public access block has {', '.join(off)} off: each flag closes one way (ACLs or a "
        "bucket policy) to make the users' documents public; the reference sets all four"
    ]


def _encryption(have: object, want: object, name: str, names: StackNames) -> list[str]:
    rule = have if isinstance(have, dict) else {}
    algorithm = rule.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm")
    if algorithm and algorithm.startswith("aws:kms"):
        return [
            f"default encryption is {algorithm}: with a customer managed key the task role "
            "would also need kms:GenerateDataKey and kms:Decrypt on it, which the reference "
            "policy does not grant; the reference uses SSE-S3 (AES256) with a bucket key"
        ]
    return [
        "no default encryption set: the reference states SSE-S3 (AES256) with a bucket key "
        "(AWS has applied SSE-S3 to new objects by default since January 2023; stating it "
        "keeps every backend's answer the same)"
    ]


def _bucket_lifecycle(have: object, want: object, name: str, names: StackNames) -> list[str]:
    rules = f"only {have}" if have else "no lifecycle rule"
    return [
        f"{rules}, not documents-tiering: documents stay in S3 Standard, old versions kept by "
        "versioning pile up and parts of abandoned multipart uploads stay billed; the rule "
        "moves objects to Standard-IA after 30 days, expires old versions after 30 and aborts "
        "uploads after 7"
    ]


def _table_ttl(have: object, want: object, name: str, names: StackNames) -> list[str]:
    return [
        f"TTL is not on for {want}: the service writes {want} (epoch seconds) on every item, "
        "but DynamoDB deletes expired items only when TTL is enabled on that attribute; "
        "without it every conversation is kept, and billed, for ever"
    ]


def _table_billing(have: object, want: object, name: str, names: StackNames) -> list[str]:
    return [
        f"billing mode is {have}: provisioned capacity is paid for every hour whether used or "
        "not, and a burst above it is throttled (ProvisionedThroughputExceededException); "
        "on-demand (PAY_PER_REQUEST) bills per request, right for a small, spiky chat"
    ]


def _table_gsi(have: object, want: object, name: str, names: StackNames) -> list[str]:
    return [
        f"no {want} index (the table has {have or 'none'}): listing a user's sessions, newest "
        "first, would need a Scan of the whole table; the index is keyed user_id + last_activity"
    ]


EXPLAINERS.update(
    {
        ("s3-bucket", "versioning"): _versioning,
        ("s3-bucket", "public_access_block"): _public_block,
        ("s3-bucket", "encryption"): _encryption,
        ("s3-bucket", "lifecycle"): _bucket_lifecycle,
        ("dynamodb-table", "ttl"): _table_ttl,
        ("dynamodb-table", "billing"): _table_billing,
        ("dynamodb-table", "gsi"): _table_gsi,
    }
)


# ---- CloudWatch Logs (chapter 05) --------------------------------------------------------------


def _retention(have: object, want: object, name: str, names: StackNames) -> list[str]:
    if have is None:
        return [
            f"no retention: a new log group keeps every event forever and storage is billed "
            f"per GB-month for ever; put_retention_policy(retentionInDays={want})"
        ]
    if want is not None and isinstance(have, int) and have < want:
        return [
            f"retention is {have} days: events older than that are deleted, and the stack "
            f"keeps {want} so the lines of a past incident are still there to read"
        ]
    return [f"retention is {have} days; the stack keeps {want} (storage is billed per GB-month)"]


EXPLAINERS[("log-group", "retention_days")] = _retention
