"""Record the AWS calls a test's context makes (to prove a module describes once)."""

import contextlib
import json
from collections.abc import Iterator

from service.aws import AwsContext


@contextlib.contextmanager
def recorded(ctx: AwsContext, *services: str) -> Iterator[list[tuple]]:
    """Yield the list of (service, operation, parameters) calls made through ctx's clients."""
    calls: list[tuple] = []

    def hook(model, params, **_):
        calls.append(
            (model.service_model.service_name, model.name, json.dumps(params, default=str))
        )

    clients = [ctx.client(s) for s in services]
    for c in clients:
        c.meta.events.register("before-call", hook)
    try:
        yield calls
    finally:  # the clients are shared by every test: leave no hook behind
        for c in clients:
            c.meta.events.unregister("before-call", hook)
