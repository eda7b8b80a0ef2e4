"""The price model reproduces AWS's worked figures and the errata's corrections."""

import importlib
import re
from dataclasses import fields

import pytest
import yaml

from deploy import present
from deploy.aws.errors import DeployError
from deploy.guide import GuideDataError
from deploy.guide import path as guide_path
from deploy.models import cost, cost_claims, prices
from deploy.models.common import ModelError


def test_fargate_task_costs_55_51_a_month_on_a_730_hour_month():
    assert prices.fargate_hourly(1, 8) == pytest.approx(0.07604)
    assert round(prices.monthly(prices.fargate_hourly(1, 8)), 2) == 55.51


def test_alb_fixed_charge_is_16_43_a_month_and_lcus_add_to_it():
    assert round(prices.monthly(prices.alb_hourly()), 2) == 16.43
    assert prices.alb_hourly(2) == pytest.approx(0.0225 + 2 * 0.008)


def test_t3_large_costs_about_61_a_month_and_30_is_a_t3_medium():
    assert round(prices.ec2_monthly("t3.large")) == 61
    assert round(prices.ec2_monthly("t3.medium")) == 30


def test_monday_saving_is_27_8_percent_and_business_hours_saving_73():
    assert round(prices.percent_saving(6, 4 + 1 / 3), 1) == 27.8
    assert round((1 - prices.schedule_fraction(9, 5)) * 100) == 73


def test_small_line_items_match_the_errata():
    assert round(prices.ecr_storage_monthly(4.4), 2) == 0.44
    assert round(prices.logs_monthly(3, 0.7), 2) == 1.52
    assert prices.secrets_monthly(1, 10_000) == pytest.approx(0.45)
    assert round(prices.nat_monthly(), 2) == 32.85
    assert round(prices.monthly(prices.PRICES.eks_cluster_hour)) == 73
    assert round(prices.dynamodb_on_demand_monthly(10_000 * 30.4, 0), 2) == 0.19
    assert round(prices.monthly(prices.public_ipv4_hourly(3)), 2) == 10.95


def test_spot_discount_defaults_to_up_to_70_percent_and_is_a_parameter():
    on_demand = prices.fargate_hourly(1, 8)
    assert prices.fargate_hourly(1, 8, spot=True) == pytest.approx(on_demand * 0.3)
    assert prices.fargate_hourly(1, 8, spot=True, spot_discount=0.5) == pytest.approx(on_demand / 2)


def test_stack_cost_of_the_guides_stack_is_85_to_90_not_55():
    bill = cost.stack_cost()
    assert 85 <= bill.monthly_total <= 90
    assert bill.monthly_total == pytest.approx(sum(i.monthly for i in bill.items))
    assert round(bill.item("ALB").monthly, 2) == 16.43
    assert round(bill.item("Fargate tasks").monthly, 2) == 55.51
    rows = bill.table()
    assert rows[-1]["item"] == "TOTAL" and rows[-1]["monthly"] == round(bill.monthly_total, 2)
    assert present.cost_table(bill).row_count == len(rows)


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
    claims = {c.id: c for c in cost_claims.GUIDE_CLAIMS}
    assert len(claims) == len(cost_claims.GUIDE_CLAIMS)
    assert round(claims["monday-savings"].computed, 1) == 27.8
    assert claims["monday-savings"].erratum == 5 and not claims["monday-savings"].agrees
    assert round(claims["t3-large"].computed) == 61 and claims["t3-large"].erratum == 7
    assert round(claims["business-hours-schedule"].computed) == 73
    assert round(claims["build-context-reduction"].computed, 5) == 99.99995
    for claim in cost_claims.GUIDE_CLAIMS:
        if claim.erratum is None:
            assert claim.agrees, claim.id  # the guide's arithmetic is right there
        else:
            assert not claim.agrees, claim.id


def test_every_price_has_a_source_and_a_date():
    assert set(prices.SOURCES) == {f.name for f in fields(prices.PriceTable)}
    assert all(url.startswith("https://") for url in prices.SOURCES.values())
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", prices.PRICES_AS_OF)
    assert prices.HOURS_PER_MONTH == 730


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: cost.stack_cost(tasks=-1), "tasks"),
        (lambda: cost.stack_cost(vcpu=1, memory_gb=16), "Fargate does not accept"),
        (lambda: cost.stack_cost(vcpu=3, memory_gb=8), "no 3 vCPU"),
        (lambda: cost.stack_cost(spot_fraction=1.5), "spot_fraction"),
        (lambda: prices.ec2_monthly("m9.huge"), "m9.huge"),
        (lambda: prices.fargate_hourly(-1, 8), "vcpu"),
        (lambda: prices.fargate_hourly(1, 8, spot=True, spot_discount=1.2), "spot_discount"),
        (lambda: prices.percent_saving(0, 1), "before"),
        (lambda: prices.schedule_fraction(25, 5), "24 h"),
        (lambda: prices.public_ipv4_hourly(1.5), "whole number"),
        (lambda: cost.compare({}), "at least one"),
        (lambda: cost.stack_cost().item("Lambda"), "Lambda"),
    ],
)
def test_bad_input_raises_a_model_error_naming_the_problem(call, words):
    with pytest.raises(ModelError, match=re.escape(words)) as info:
        call()
    assert isinstance(info.value, DeployError) and isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "module",
    [
        "deploy.models.cost",
        "deploy.models.prices",
        "deploy.models.rollout",
        "deploy.models.rollout_sim",
        "deploy.models.scaling",
        "deploy.models.scaling_sim",
    ],
)
def test_each_model_says_it_is_a_model_and_cites_aws(module):
    doc = importlib.import_module(module).__doc__
    assert "A model, not the emulator" in doc
    assert "https://docs.aws.amazon.com/" in doc or "https://aws.amazon.com/" in doc


def test_guide_claims_are_the_cost_models_and_render_as_a_table():
    assert cost_claims.GUIDE_CLAIMS is cost_claims.GUIDE_CLAIMS
    assert isinstance(cost_claims.GUIDE_CLAIMS[0], cost_claims.GuideClaim)
    table = present.claims_table(cost_claims.GUIDE_CLAIMS)
    assert table.row_count == len(cost_claims.GUIDE_CLAIMS)


def test_each_claim_is_computed_from_its_data(tmp_path):
    data = yaml.safe_load(guide_path("cost_claims").read_text())
    t3 = next(c for c in data["claims"] if c["id"] == "t3-large")
    t3["compute"]["kwargs"]["instance_type"] = "t3.medium"
    data["monday_segments"][0]["tasks"] = 3  # the anchor feeds the three Monday claims
    (tmp_path / "cost_claims.yaml").write_text(yaml.safe_dump(data))
    claims = {c.id: c for c in cost_claims.guide_claims(tmp_path)}
    assert claims["t3-large"].computed == pytest.approx(prices.ec2_monthly("t3.medium"))
    assert round(claims["t3-large"].computed) == 30  # the guide's $30 is a t3.medium
    # 3 tasks in the first 30 minutes: 3x30 + 2x15 + 3x50 + 2x25 = 320 task-minutes
    assert claims["monday-task-hours"].computed == pytest.approx(320 / 60)
    assert claims["monday-savings"].computed == pytest.approx((360 - 320) / 360 * 100)


def _bad_claims(tmp_path, edit):
    data = yaml.safe_load(guide_path("cost_claims").read_text())
    edit(data)
    (tmp_path / "cost_claims.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(GuideDataError) as info:
        cost_claims.guide_claims(tmp_path)
    message = str(info.value)
    assert str(tmp_path / "cost_claims.yaml") in message
    return message


def _claim(data, claim_id):
    return next(c for c in data["claims"] if c["id"] == claim_id)


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (
            lambda d: _claim(d, "t3-large").pop("unit"),
            ["claims[9] (id 't3-large').unit", "Field required"],
        ),
        (
            lambda d: _claim(d, "alb-monthly").update(erratum="six"),
            ["(id 'alb-monthly').erratum", "valid integer"],
        ),
        (
            lambda d: _claim(d, "stack-24x7")["compute"].update(function="eval"),
            ["(id 'stack-24x7').compute", "unknown function 'eval'", "fargate_cost"],
        ),
        (
            lambda d: _claim(d, "ecr-4.4-gb")["compute"]["kwargs"].update(size=4.4),
            ["(id 'ecr-4.4-gb').compute", "kwargs do not fit ecr_storage_monthly"],
        ),
        (
            lambda d: _claim(d, "logs-example").update(id="ecr-4.4-gb"),
            ["claims", "'ecr-4.4-gb' appears twice"],
        ),
        (
            lambda d: _claim(d, "t3-large")["compute"]["kwargs"].update(instance_type="m9.huge"),
            ["(id 't3-large').compute", "ec2_monthly failed", "m9.huge"],
        ),
        (lambda d: d.pop("claims"), ["claims: Field required"]),
    ],
)
def test_a_bad_claims_file_names_the_file_and_the_field(tmp_path, edit, words):
    message = _bad_claims(tmp_path, edit)
    for word in words:
        assert word in message


def test_a_missing_or_broken_guide_file_is_named(tmp_path):
    with pytest.raises(GuideDataError, match=r"cost_claims\.yaml: guide data file not found"):
        cost_claims.guide_claims(tmp_path)
    (tmp_path / "cost_claims.yaml").write_text("claims: [unclosed\n")
    with pytest.raises(GuideDataError, match=r"cost_claims\.yaml: not valid YAML"):
        cost_claims.guide_claims(tmp_path)
    (tmp_path / "cost_claims.yaml").write_text("- just a list\n")
    with pytest.raises(GuideDataError, match="expected a mapping"):
        cost_claims.guide_claims(tmp_path)
