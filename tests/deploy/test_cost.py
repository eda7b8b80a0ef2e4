"""The price model reproduces AWS's worked figures and the errata's corrections."""

import re

import pytest

from deploy import cost
from deploy.errors import DeployError
from deploy.models_common import ModelError


def test_fargate_task_costs_55_51_a_month_on_a_730_hour_month():
    assert cost.fargate_hourly(1, 8) == pytest.approx(0.07604)
    assert round(cost.monthly(cost.fargate_hourly(1, 8)), 2) == 55.51


def test_alb_fixed_charge_is_16_43_a_month_and_lcus_add_to_it():
    assert round(cost.monthly(cost.alb_hourly()), 2) == 16.43
    assert cost.alb_hourly(2) == pytest.approx(0.0225 + 2 * 0.008)


def test_t3_large_costs_about_61_a_month_and_30_is_a_t3_medium():
    assert round(cost.ec2_monthly("t3.large")) == 61
    assert round(cost.ec2_monthly("t3.medium")) == 30


def test_monday_saving_is_27_8_percent_and_business_hours_saving_73():
    assert round(cost.percent_saving(6, 4 + 1 / 3), 1) == 27.8
    assert round((1 - cost.schedule_fraction(9, 5)) * 100) == 73


def test_small_line_items_match_the_errata():
    assert round(cost.ecr_storage_monthly(4.4), 2) == 0.44
    assert round(cost.logs_monthly(3, 0.7), 2) == 1.52
    assert cost.secrets_monthly(1, 10_000) == pytest.approx(0.45)
    assert round(cost.nat_monthly(), 2) == 32.85
    assert round(cost.monthly(cost.PRICES.eks_cluster_hour)) == 73
    assert round(cost.dynamodb_on_demand_monthly(10_000 * 30.4, 0), 2) == 0.19
    assert round(cost.monthly(cost.public_ipv4_hourly(3)), 2) == 10.95


def test_spot_discount_defaults_to_up_to_70_percent_and_is_a_parameter():
    on_demand = cost.fargate_hourly(1, 8)
    assert cost.fargate_hourly(1, 8, spot=True) == pytest.approx(on_demand * 0.3)
    assert cost.fargate_hourly(1, 8, spot=True, spot_discount=0.5) == pytest.approx(on_demand / 2)


def test_stack_cost_of_the_guides_stack_is_85_to_90_not_55():
    bill = cost.stack_cost()
    assert 85 <= bill.monthly_total <= 90
    assert bill.monthly_total == pytest.approx(sum(i.monthly for i in bill.items))
    assert round(bill.item("ALB").monthly, 2) == 16.43
    assert round(bill.item("Fargate tasks").monthly, 2) == 55.51
    rows = bill.table()
    assert rows[-1]["item"] == "TOTAL" and rows[-1]["monthly"] == round(bill.monthly_total, 2)
    assert bill.rich_table().row_count == len(rows)


def test_stack_cost_scales_with_tasks_and_spot():
    one, three = cost.stack_cost(tasks=1), cost.stack_cost(tasks=3)
    fargate = one.item("Fargate tasks").monthly
    assert three.item("Fargate tasks").monthly == pytest.approx(3 * fargate)
    spot = cost.stack_cost(spot_fraction=1.0)
    assert spot.item("Fargate tasks").monthly == pytest.approx(0.3 * fargate)
    nat = cost.stack_cost(nat_gateways=2, nat_gb=10)
    assert nat.item("NAT gateway").monthly == pytest.approx(2 * (0.045 * 730 + 10 * 0.045))


def test_compare_reports_savings_against_the_first_scenario():
    rows = cost.compare({"always-1": {}, "half-size": {"vcpu": 0.5, "memory_gb": 4}})
    assert rows[0]["saving_pct"] == 0.0
    assert rows[1]["saving_pct"] > 0 and rows[1]["monthly"] < rows[0]["monthly"]


def test_guide_claims_are_computed_and_the_wrong_ones_disagree():
    claims = {c.id: c for c in cost.GUIDE_CLAIMS}
    assert len(claims) == len(cost.GUIDE_CLAIMS)
    assert round(claims["monday-savings"].computed, 1) == 27.8
    assert claims["monday-savings"].erratum == 5 and not claims["monday-savings"].agrees
    assert round(claims["t3-large"].computed) == 61 and claims["t3-large"].erratum == 7
    assert round(claims["business-hours-schedule"].computed) == 73
    assert round(claims["build-context-reduction"].computed, 5) == 99.99995
    for claim in cost.GUIDE_CLAIMS:
        if claim.erratum is None:
            assert claim.agrees, claim.id  # the guide's arithmetic is right there
        else:
            assert not claim.agrees, claim.id


def test_every_price_has_a_source_and_a_date():
    from dataclasses import fields

    assert set(cost.SOURCES) == {f.name for f in fields(cost.PriceTable)}
    assert all(url.startswith("https://") for url in cost.SOURCES.values())
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", cost.PRICES_AS_OF)
    assert cost.HOURS_PER_MONTH == 730


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: cost.stack_cost(tasks=-1), "tasks"),
        (lambda: cost.stack_cost(vcpu=1, memory_gb=16), "Fargate does not accept"),
        (lambda: cost.stack_cost(vcpu=3, memory_gb=8), "no 3 vCPU"),
        (lambda: cost.stack_cost(spot_fraction=1.5), "spot_fraction"),
        (lambda: cost.ec2_monthly("m9.huge"), "m9.huge"),
        (lambda: cost.fargate_hourly(-1, 8), "vcpu"),
        (lambda: cost.fargate_hourly(1, 8, spot=True, spot_discount=1.2), "spot_discount"),
        (lambda: cost.percent_saving(0, 1), "before"),
        (lambda: cost.schedule_fraction(25, 5), "24 h"),
        (lambda: cost.public_ipv4_hourly(1.5), "whole number"),
        (lambda: cost.compare({}), "at least one"),
        (lambda: cost.stack_cost().item("Lambda"), "Lambda"),
    ],
)
def test_bad_input_raises_a_model_error_naming_the_problem(call, words):
    with pytest.raises(ModelError, match=re.escape(words)) as info:
        call()
    assert isinstance(info.value, DeployError) and isinstance(info.value, ValueError)


@pytest.mark.parametrize("module", ["deploy.cost", "deploy.rollout", "deploy.scaling"])
def test_each_model_says_it_is_a_model_and_cites_aws(module):
    import importlib

    doc = importlib.import_module(module).__doc__
    assert "A model, not the emulator" in doc
    assert "https://docs.aws.amazon.com/" in doc or "https://aws.amazon.com/" in doc
