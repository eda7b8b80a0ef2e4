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
from deploy.models import github_trust, policies
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


def _principals(doc: object) -> list[str]:
    out = []
    for s in policies.statements(doc):
        principal = s.get("Principal")
        if isinstance(principal, dict):
            for values in principal.values():
                out += [str(v) for v in policies.listed(values)]
        elif principal is not None:
            out.append(str(principal))
    return out


def _federated(doc: object) -> list[str]:
    return [
        str(v)
        for s in policies.statements(doc)
        if isinstance(s.get("Principal"), dict)
        for v in policies.listed(s["Principal"].get("Federated"))
    ]


def trust_findings(have: object, want: object, role: str = "", names: object = None) -> list[str]:
    """Return what is wrong with a role's trust policy compared with the reference's."""
    if _federated(want):  # the CI role trusts GitHub's OIDC tokens, not an AWS service
        repo = names.github_repo if isinstance(names, StackNames) else ""
        return github_trust.github_trust_problems(have, _federated(want)[0], repo)
    problems = []
    principals = _principals(have)
    if policies.ECS_TASKS not in principals:
        shown = ", ".join(principals) or "missing"
        problems.append(
            f"trust policy principal is {shown}: ECS tasks assume roles via "
            f"{policies.ECS_TASKS} — tasks fail with 'ECS was unable to assume the role'"
        )
    actions = {a for s in policies.statements(have) for a in policies.listed(s.get("Action"))}
    if "sts:AssumeRole" not in actions:
        problems.append(
            f"trust policy allows {sorted(actions) or 'no action'}: a service principal "
            "assumes a role with sts:AssumeRole, so ECS cannot assume this one"
        )
    conditions = [s.get("Condition") for s in policies.statements(have) if s.get("Condition")]
    wanted = [s.get("Condition") for s in policies.statements(want) if s.get("Condition")]
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
    have_set, want_set = set(policies.listed(have)), set(policies.listed(want))
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
    for s in policies.statements(doc):
        if s.get("Effect", "Allow") != "Allow":
            continue
        for action in policies.listed(s.get("Action")):
            out.setdefault(str(action), set()).update(
                str(r) for r in policies.listed(s.get("Resource"))
            )
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
    if not isinstance(have, dict) or not policies.statements(have):
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
    for rule in policies.listed(have):
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
    for rule in policies.listed(have):
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


def _keys_missing(have: object, want: object, name: str, names: StackNames) -> list[str]:
    keys = ", ".join(policies.listed(have))
    return [
        f"the secret lacks {keys}, which the task definition reads (valueFrom ...:KEY::): ECS "
        "stops every new task with ResourceInitializationError until the key is back. An "
        "update-secret with a partial JSON drops keys this way: read, change one, write all"
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
    ("secret", "keys_missing"): _keys_missing,
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


# ---- chapter 09: the scalable target, the CPU policy and the scheduled action -----------------


def _min_capacity(have: object, want: object, name: str, names: StackNames) -> list[str]:
    if have == 0:
        return [
            "MinCapacity is 0: once the service is at 0 tasks, CPU target tracking never scales "
            "out again (no task, no CPU datapoint) and the ALB answers 503; scaling from zero "
            f"needs step scaling on an ALB metric or a schedule (errata 26); the reference keeps {want}"
        ]
    if isinstance(have, int) and isinstance(want, int) and have > want:
        return [
            f"MinCapacity is {have}: {have} tasks run and are billed around the clock, idle or "
            f"not; the reference keeps {want} and lets the policies add tasks under load"
        ]
    return [f"MinCapacity is {have!r}; the reference has {want!r}"]


def _max_capacity(have: object, want: object, name: str, names: StackNames) -> list[str]:
    if isinstance(have, int) and isinstance(want, int) and have < want:
        return [
            f"MaxCapacity is {have}: in a burst the policies cannot add the tasks they ask for "
            f"and requests queue or time out; the reference allows up to {want}"
        ]
    if isinstance(have, int) and isinstance(want, int):
        return [
            f"MaxCapacity is {have}: a runaway metric (a retry storm, a bot) could scale to "
            f"{have} tasks, each billed; the reference caps the service at {want}"
        ]
    return [f"MaxCapacity is {have!r}; the reference has {want!r}"]


def _target_value(have: object, want: object, name: str, names: StackNames) -> list[str]:
    if isinstance(have, int | float) and 0 < have <= 1:
        return [
            f"TargetValue is {have}: CPU utilisation is a percentage (0-100), so this asks for "
            f"{have} % and the service sits at its maximum; the reference tracks {want}"
        ]
    if isinstance(have, int | float) and isinstance(want, int | float) and have > want:
        return [
            f"TargetValue is {have}: tasks run hotter before a scale-out, leaving less headroom "
            f"while a new task starts (a minute or more); the reference tracks {want}"
        ]
    return [
        f"TargetValue is {have!r}: a lower target keeps more tasks running than the load needs, "
        f"each billed; the reference tracks {want}"
    ]


def _tracked_metric(have: object, want: object, name: str, names: StackNames) -> list[str]:
    return [
        f"the policy tracks {have}; the reference tracks {want} (each policy tracks one metric; "
        "the stack has a separate policy per metric)"
    ]


def _cooldown(have: object, want: object, name: str, names: StackNames) -> list[str]:
    if have is None:
        return [
            "the cooldown is not set, so ECS's default of 300 s applies; a cooldown is a wait "
            f"after a scaling activity (not 'CPU above target for N s'); the reference sets {want} s"
        ]
    return [
        f"the cooldown is {have} s: it is a wait after a scaling activity before the next one in "
        f"the same direction (errata 4); the reference waits {want} s (60 out, 300 in: add "
        "quickly, remove slowly)"
    ]


def _cron(have: object, want: object, name: str, names: StackNames) -> list[str]:
    text = str(have or "")
    if not text.startswith("cron(") or not text.endswith(")"):
        return [
            f"Schedule is {have!r}: 'at(...)' runs once and 'rate(...)' every interval; a time "
            f"on each weekday is a cron expression, {want}"
        ]
    fields = text[5:-1].split()
    if len(fields) == 5:
        return [
            f"Schedule {text} has five fields, the Unix crontab form; AWS's cron has six "
            "(minutes hours day-of-month month day-of-week year) and refuses it "
            f"(ValidationException; moto stores it anyway): {want}"
        ]
    if len(fields) != 6:
        return [f"Schedule {text} has {len(fields)} fields; AWS's cron has six: {want}"]
    minute, hour, dom, _month, dow, _year = fields
    problems = []
    if "?" not in (dom, dow):
        problems.append(
            f"Schedule {text} has no '?': AWS's cron needs day-of-month or day-of-week to be '?' "
            f"when the other is given, so it refuses this one: {want}"
        )
    if (minute, hour) != ("0", "8"):
        problems.append(
            f"Schedule {text} runs at hour {hour}, minute {minute} (minutes come first); "
            f"08:00 is '0 8': {want}"
        )
    if dow == "1-5":
        problems.append(
            "day-of-week 1-5 is Sunday to Thursday in AWS's cron (1 is Sunday); write MON-FRI"
        )
    elif dow.upper() == "2-6":
        problems.append(
            "day-of-week 2-6 is Monday to Friday in AWS's cron, the same days written another "
            "way; write MON-FRI as the reference does so plan sees no change"
        )
    elif dow in ("*", "?"):
        problems.append("the action also runs on Saturdays and Sundays; weekdays are MON-FRI")
    return problems or [f"Schedule is {text}; the reference has {want}"]


def _scheduled_min(have: object, want: object, name: str, names: StackNames) -> list[str]:
    if have is None:
        return [
            f"the action sets no MinCapacity, so the floor stays where it was; office hours "
            f"need {want} tasks warm"
        ]
    if isinstance(have, int) and isinstance(want, int) and have > want:
        return [
            f"the action sets MinCapacity {have}: all day you pay for {have} tasks and target "
            f"tracking can no longer scale in; the reference keeps {want} warm and lets the CPU "
            "policy add the rest"
        ]
    return [
        f"the action sets MinCapacity {have!r}: the point of the schedule is capacity that is "
        f"already running when people arrive; the reference raises the floor to {want}"
    ]


def _scheduled_max(have: object, want: object, name: str, names: StackNames) -> list[str]:
    if have is None:
        return [f"the action sets no MaxCapacity; the reference states it ({want}) so plan sees it"]
    return [f"the action sets MaxCapacity {have}; the stack's ceiling is {want} tasks"]


EXPLAINERS.update(
    {
        ("scalable-target", "MinCapacity"): _min_capacity,
        ("scalable-target", "MaxCapacity"): _max_capacity,
        ("scaling-policy", "TargetValue"): _target_value,
        ("scaling-policy", "PredefinedMetricSpecification"): _tracked_metric,
        ("scaling-policy", "ScaleOutCooldown"): _cooldown,
        ("scaling-policy", "ScaleInCooldown"): _cooldown,
        ("scheduled-action", "Schedule"): _cron,
        ("scheduled-action", "MinCapacity"): _scheduled_min,
        ("scheduled-action", "MaxCapacity"): _scheduled_max,
    }
)


# ---- chapter 07: the target group, the ALB and its :80 listener --------------------------------


def _hc_path(have: object, want: object, name: str, names: StackNames) -> list[str]:
    return [
        f"health checks ask {have!r}; the app answers {want!r} (200 when its index is loaded): "
        "any other path gets a 404, every target turns unhealthy (Target.ResponseCodeMismatch) "
        "and ECS keeps replacing tasks that work"
    ]


def _hc_interval(have: object, want: object, name: str, names: StackNames) -> list[str]:
    if isinstance(have, int) and isinstance(want, int) and have > want:
        return [
            f"interval {have} s: a dead task keeps getting requests for about interval x "
            f"unhealthy threshold ({have} s x the threshold) before the ALB stops routing to it; "
            f"the reference probes every {want} s"
        ]
    return [
        f"interval {have} s: more probes than the reference's {want} s from every ALB node, "
        "for faster detection the requirement does not ask for"
    ]


def _hc_timeout(have: object, want: object, name: str, names: StackNames) -> list[str]:
    if isinstance(have, int) and isinstance(want, int) and have < want:
        return [
            f"timeout {have} s: a /health answer slower than that (a busy task, a cold index) "
            f"counts as failed (Target.Timeout); the reference waits {want} s"
        ]
    return [f"timeout {have} s: a hung task holds each probe longer; the reference waits {want} s"]


def _hc_threshold(have: object, want: object, name: str, names: StackNames) -> list[str]:
    return [
        f"threshold {have}: the target changes state on the {have}th consecutive check (not one "
        f"more); the reference uses {want}: one failed probe never takes a task out, a dead one "
        "is out after two intervals, and a recovered one is back after two passes"
    ]


def _hc_matcher(have: object, want: object, name: str, names: StackNames) -> list[str]:
    code = have.get("HttpCode") if isinstance(have, dict) else have
    wanted = want.get("HttpCode") if isinstance(want, dict) else want
    return [
        f"matcher accepts {code!r}; /health answers {wanted}: a matcher must accept the success "
        "code the app sends, or every probe fails with Target.ResponseCodeMismatch (and one "
        "that is too wide lets a broken app pass)"
    ]


def _hc_protocol(have: object, want: object, name: str, names: StackNames) -> list[str]:
    return [
        f"health checks use {have}: the task serves plain HTTP on 8080 (TLS ends at the ALB), "
        f"so an HTTPS probe fails; the reference uses {want}"
    ]


def _drain_delay(have: object, want: object, name: str, names: StackNames) -> list[str]:
    if have == "300":
        return [
            "deregistration delay is AWS's default, 300 s: every replaced task drains for 5 "
            f"minutes, so a deployment waits that long per task, and Fargate Spot reclaims a task "
            f"120 s after its warning; the app answers in seconds, so the reference drains {want} s"
        ]
    return [
        f"deregistration delay is {have} s: how long a deregistering target keeps finishing its "
        f"in-flight requests (not how soon an unhealthy one is removed); the reference uses {want} s"
    ]


def _lb_subnets(have: object, want: object, name: str, names: StackNames) -> list[str]:
    return [
        f"the ALB is in subnets {have}; the reference uses the two default subnets {want}, one "
        "per AZ: an ALB needs at least two AZs and routes only to targets in its own AZs"
    ]


def _lb_groups(have: object, want: object, name: str, names: StackNames) -> list[str]:
    return [
        f"the ALB carries security groups {have}; the reference gives it {want}, the ALB group "
        "(80 from the internet): the task group admits 8080 only from that group, so with "
        "another one the health checks and requests never reach the tasks"
    ]


def _listener_protocol(have: object, want: object, name: str, names: StackNames) -> list[str]:
    return [
        f"the listener speaks {have}; the reference's {name} speaks {want} (HTTPS needs an ACM "
        "certificate and listens on 443)"
    ]


def _listener_actions(have: object, want: object, name: str, names: StackNames) -> list[str]:
    kinds = [a.get("Type") for a in policies.listed(have) if isinstance(a, dict)]
    if kinds == ["forward"]:
        return [
            f"the listener forwards to another target group: requests never reach "
            f"{names.target_group}, where ECS registers the tasks"
        ]
    return [
        f"default action is {kinds}: the reference's {name} "
        f"{'redirects to HTTPS' if 'redirect' in str(want) else 'forwards to the target group'}"
    ]


EXPLAINERS.update(
    {
        ("target-group", "HealthCheckPath"): _hc_path,
        ("target-group", "HealthCheckIntervalSeconds"): _hc_interval,
        ("target-group", "HealthCheckTimeoutSeconds"): _hc_timeout,
        ("target-group", "HealthyThresholdCount"): _hc_threshold,
        ("target-group", "UnhealthyThresholdCount"): _hc_threshold,
        ("target-group", "Matcher"): _hc_matcher,
        ("target-group", "HealthCheckProtocol"): _hc_protocol,
        ("target-group", "deregistration_delay"): _drain_delay,
        ("load-balancer", "subnets"): _lb_subnets,
        ("load-balancer", "security_groups"): _lb_groups,
        ("listener", "Protocol"): _listener_protocol,
        ("listener", "DefaultActions"): _listener_actions,
    }
)


# ---- chapter 08: the ECS cluster and service --------------------------------------------------


def deployment_findings(have: object, want: object, name: str, names: StackNames) -> list[str]:
    """Explain how a service's deploymentConfiguration differs from 100 % / 200 % + breaker."""
    if not isinstance(have, dict):
        return [
            "no deploymentConfiguration: ECS then uses 100 % / 200 % without a circuit breaker, "
            "so a revision whose tasks never turn healthy is retried for ever; state "
            f"{want} (on the emulator, moto's create_service drops it: repeat it with update_service)"
        ]
    low, high = have.get("minimumHealthyPercent"), have.get("maximumPercent")
    breaker = have.get("deploymentCircuitBreaker") or {}
    problems = []
    if isinstance(low, int) and low < 100:
        problems.append(
            f"minimumHealthyPercent is {low}: ECS may stop old tasks before new ones are "
            "healthy; with one task it stops the only one first and the ALB answers 503 "
            "until the new task passes its checks (100 keeps every old task until then)"
        )
    if isinstance(high, int) and high <= 100 and low == 100:
        problems.append(
            f"maximumPercent is {high} with minimumHealthyPercent 100: ECS may neither stop an "
            "old task nor start a new one, so the deployment cannot move (200 lets a new task "
            "start beside each old one)"
        )
    elif isinstance(high, int) and high < 200:
        problems.append(
            f"maximumPercent is {high}: with one task ECS cannot start the new task beside the "
            "old one (200 % of 1 is 2 tasks)"
        )
    if not breaker.get("enable"):
        problems.append(
            "the circuit breaker is off: a revision whose tasks keep failing is retried for "
            "ever and the deployment never ends (enable it)"
        )
    elif not breaker.get("rollback"):
        problems.append(
            "rollback is off: the breaker marks the deployment FAILED but leaves the service "
            "on the broken revision; with rollback it returns to the last COMPLETED one"
        )
    return problems or [f"is {have!r}; the reference has {want!r}"]


def _grace_period(have: object, want: object, name: str, names: StackNames) -> list[str]:
    if not isinstance(have, int):
        return [
            "no health-check grace period: ECS counts ELB health checks from the task's first "
            "second, so a task still starting (startPeriod 60 s) can be stopped as unhealthy; "
            f"the reference waits {want} s (startPeriod + interval x healthy threshold)"
        ]
    if isinstance(want, int) and have < want:
        return [
            f"the grace period is {have} s: shorter than the start-up plus the checks needed to "
            f"turn healthy, so ECS may replace a task that is only slow to start; use {want} s "
            "(it does not delay the health checks themselves, errata 3)"
        ]
    return [
        f"the grace period is {have} s: a task that really is broken keeps its place that long "
        f"before ECS replaces it; the reference derives {want} s from the checks"
    ]


def _service_network(have: object, want: object, name: str, names: StackNames) -> list[str]:
    cfg = (have or {}).get("awsvpcConfiguration", {}) if isinstance(have, dict) else {}
    ref = (want or {}).get("awsvpcConfiguration", {}) if isinstance(want, dict) else {}
    problems = []
    if len(cfg.get("subnets", [])) < len(ref.get("subnets", [])):
        problems.append(
            f"{len(cfg.get('subnets', []))} subnet(s): the service can place tasks in one "
            f"Availability Zone only, so losing it takes the service down; give all "
            f"{len(ref.get('subnets', []))} subnets"
        )
    if cfg.get("securityGroups") != ref.get("securityGroups"):
        problems.append(
            f"security groups {cfg.get('securityGroups')}: the tasks need the task group "
            f"{names.task_security_group} ({ref.get('securityGroups')}), the one that admits "
            "8080 from the ALB's group only"
        )
    if cfg.get("assignPublicIp") != ref.get("assignPublicIp"):
        problems.append(
            f"assignPublicIp is {cfg.get('assignPublicIp')}: in the default VPC's public "
            "subnets without a NAT gateway a task then cannot reach ECR, Secrets Manager or "
            "CloudWatch Logs, and fails with CannotPullContainerError (errata 12)"
        )
    return problems or [f"is {have!r}; the reference has {want!r}"]


def _service_balancers(have: object, want: object, name: str, names: StackNames) -> list[str]:
    if not have:
        return [
            "no loadBalancers: the tasks run but ECS never registers them in the target group, "
            "so the ALB has no target and answers 503"
        ]
    got, ref = (have or [{}])[0], (want or [{}])[0]
    problems = []
    if got.get("containerName") != ref.get("containerName"):
        problems.append(
            f"containerName {got.get('containerName')!r} is not a container of the task "
            f"definition ({ref.get('containerName')!r}): ECS refuses the service"
        )
    if got.get("containerPort") != ref.get("containerPort"):
        problems.append(
            f"containerPort {got.get('containerPort')}: the app listens on "
            f"{ref.get('containerPort')}, so the ALB would send requests (and health checks) "
            "to a closed port"
        )
    if got.get("targetGroupArn") != ref.get("targetGroupArn"):
        problems.append(
            "targetGroupArn is not the ALB's target group: the ALB never sees the tasks"
        )
    return problems or [f"is {have!r}; the reference has {want!r}"]


def _service_revision(have: object, want: object, name: str, names: StackNames) -> list[str]:
    return [
        f"the service runs {str(have).rsplit('/', 1)[-1]}, not the revision that matches the "
        f"reference ({str(want).rsplit('/', 1)[-1]}): pass the ARN register_task_definition "
        "returned"
    ]


def _cluster_settings(have: object, want: object, name: str, names: StackNames) -> list[str]:
    return [
        f"settings are {have}: without containerInsights enabled CloudWatch keeps no per-task "
        "CPU, memory and network metrics, the first place to look when a task misbehaves"
    ]


EXPLAINERS.update(
    {
        ("ecs-service", "deploymentConfiguration"): deployment_findings,
        ("ecs-service", "healthCheckGracePeriodSeconds"): _grace_period,
        ("ecs-service", "networkConfiguration"): _service_network,
        ("ecs-service", "loadBalancers"): _service_balancers,
        ("ecs-service", "taskDefinition"): _service_revision,
        ("ecs-cluster", "settings"): _cluster_settings,
    }
)
