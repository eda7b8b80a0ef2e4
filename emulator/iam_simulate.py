"""IAM's SimulatePrincipalPolicy for roles, which moto lacks, judged by moto's own evaluator.

`aws iam simulate-principal-policy --policy-source-arn <role> --action-names <action>
--resource-arns <arn>` answers, per action and resource, `allowed`, `explicitDeny` or
`implicitDeny` from the role's identity-based policies (inline and attached), as the IAM API
reference describes the call. Not modelled: permissions boundaries, SCPs, resource policies,
context keys and conditions beyond what moto's evaluator reads. Installed with the ECS hooks
(emulator.ecs_hooks.install_moto_extensions); localstack/README.md lists it.
"""

from __future__ import annotations

from typing import Any

from moto.core.responses import ActionResult
from moto.iam.exceptions import NoSuchEntity
from moto.iam.responses import IamResponse

from emulator.task_inputs import decision, role_documents


def simulate_principal_policy(self: IamResponse) -> ActionResult:
    """Answer SimulatePrincipalPolicy for a role: one result per action and resource."""
    source = self._get_param("PolicySourceArn")
    documents = role_documents(source)
    if documents is None:
        raise NoSuchEntity(f"The emulator simulates roles only, and holds no role {source}")
    resources = self._get_param("ResourceArns", []) or ["*"]
    results: list[dict[str, Any]] = [
        {
            "EvalActionName": action,
            "EvalResourceName": resource,
            "EvalDecision": decision(documents, action, resource),
            "MatchedStatements": [],
            "MissingContextValues": [],
        }
        for action in self._get_param("ActionNames", [])
        for resource in resources
    ]
    return ActionResult({"EvaluationResults": results, "IsTruncated": False})


def install() -> None:
    """Give moto's IAM responses the call (idempotent)."""
    IamResponse.simulate_principal_policy = simulate_principal_policy
