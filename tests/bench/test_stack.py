"""The stack benchmark's call counter: every AWS call of a fresh context, repeats, the account."""

import dataclasses

from bench.stack import CallCounter, call_figures


def test_counter_sees_every_call_and_the_identical_repeats(ctx):
    counter = CallCounter()
    fresh = counter.watch(dataclasses.replace(ctx))
    counter.module = "ecs"
    fresh.client("ecs").list_clusters()
    fresh.client("ecs").list_clusters()
    fresh.client("ecs").list_clusters(maxResults=5)
    counter.module = "account"
    assert fresh.account_id == fresh.account_id  # cached: one GetCallerIdentity
    got = counter.summary()
    assert got["calls"] == 4
    assert got["repeats"] == 1
    assert got["repeated"] == ["ecs.ListClusters"]
    assert got["caller_identity"] == 1
    assert got["by_module"] == {"ecs": 3, "account": 1}


def test_call_figures_judge_the_goals_and_keep_the_before_value():
    noop = {"calls": 60, "repeats": 2, "caller_identity": 1, "by_module": {"iam": 60},
            "repeated": ["iam.GetRole"]}  # fmt: skip
    calls, repeats, identity = call_figures([noop])
    assert (calls.value, calls.goal, calls.met) == (60, 50, False)
    assert "95 calls, 11 GetCallerIdentity" in calls.note and "iam 60" in calls.note
    assert (repeats.value, repeats.met) == (2, False) and "iam.GetRole" in repeats.note
    assert identity.met is True
