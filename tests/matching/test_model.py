from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from regard.customers.models import Customer
from regard.matching import engine, services
from regard.matching.models import MatchCandidate, MatchModel


def test_training_is_reproducible_from_a_seed(population: Callable[..., list[Customer]]) -> None:
    population(80)
    first = services.match_train(actor=None, seed=11)
    second = services.match_train(actor=None, seed=11)
    assert (first.version, second.version) == (1, 2)
    assert first.parameters == second.parameters
    assert first.seed == second.seed == 11
    other_seed = services.match_train(actor=None, seed=12)
    assert other_seed.parameters["u"] != first.parameters["u"]


def test_model_explains_each_field_and_weights_sum_to_the_match_weight() -> None:
    records = [
        engine.profile(
            given_name="Robert", family_name="Miller", date_of_birth="1970-03-04", postcode="10115"
        ),
        engine.profile(given_name="Bob", family_name="Miller", date_of_birth="1970-04-03", postcode="10115"),
        engine.profile(
            given_name="Miller", family_name="Robert", date_of_birth="1970-03-04", postcode="10115"
        ),
    ]
    table = engine.RecordTable.build(records)
    levels = engine.compare(table, np.array([0, 0]), np.array([1, 2]))
    given = engine.FIELDS.index("given_name")
    dob = engine.FIELDS.index("date_of_birth")
    assert engine.LEVELS["given_name"][levels[0, given] - 1] == "nickname"
    assert engine.LEVELS["date_of_birth"][levels[0, dob] - 1] == "one typo or day/month swapped"
    assert engine.LEVELS["given_name"][levels[1, given] - 1] == "swapped"
    model = engine.train(records * 3, seed=1)
    weights, probability = model.score(levels)
    explanation = model.explain(levels[0])
    total = explanation["prior_weight"] + sum(step["weight"] for step in explanation["fields"])
    assert total == pytest.approx(weights[0], abs=0.02)
    assert 0.0 <= probability.min() <= probability.max() <= 1.0


def test_batch_run_finds_a_planted_duplicate_with_an_explanation(
    population: Callable[..., list[Customer]], jonathan: Callable[[], tuple[Customer, Customer]]
) -> None:
    population()
    first, second = jonathan()
    run = services.match_run_execute(run=services.MatchRun.objects.create(created_at=first.created_at))
    assert run.status == "done"
    assert MatchModel.objects.count() == 1  # trained on the way, since none existed
    candidate = MatchCandidate.objects.get(customer_low=first, customer_high=second)
    assert candidate.status == "proposed"
    assert candidate.probability >= 0.8
    levels = {step["field"]: step["level"] for step in candidate.explanation["fields"]}
    assert levels["given_name"] == "nickname"
    assert levels["date_of_birth"] == "exact"
    assert levels["email"] == "same mailbox, other form or domain"
    assert run.candidates_new >= 1
    assert run.pairs_compared > 0


def test_agreeing_on_a_rare_surname_counts_for_more_than_on_a_common_one() -> None:
    people = [
        engine.profile(
            given_name=f"person{i}",
            family_name="smith" if i % 3 else f"family{i}",
            date_of_birth=f"19{50 + i % 40}-0{1 + i % 9}-1{i % 10}",
            postcode=f"{10000 + i}",
        )
        for i in range(300)
    ]
    pairs = [
        engine.profile(given_name="anna", family_name="smith", date_of_birth="1970-01-01"),
        engine.profile(given_name="anna", family_name="smith", date_of_birth="1970-01-02"),
        engine.profile(given_name="anna", family_name="quarterbridge", date_of_birth="1970-01-01"),
        engine.profile(given_name="anna", family_name="quarterbridge", date_of_birth="1970-01-02"),
    ]
    records = people + pairs
    model = engine.train(records, seed=3, u_pairs=20_000)
    assert model.tf["family_name"]["values"]["smith"] > 0.5  # two in three share it
    assert "quarterbridge" in model.tf["family_name"]["values"]  # seen twice
    table = engine.RecordTable.build(records)
    first = np.array([300, 302])
    levels, weights, _, adjustments = engine.score_pairs(model, table, first, first + 1)
    assert (levels[0] == levels[1]).all()  # the same evidence level by level
    family = engine.FIELDS.index("family_name")
    assert adjustments[0, family] < 0 < adjustments[1, family]
    assert weights[1] > weights[0]
    explanation = model.explain(levels[1], adjustments[1])
    step = explanation["fields"][family]
    assert step["level"] == "exact"
    assert step["term_frequency"] == pytest.approx(adjustments[1, family], abs=1e-3)
    total = explanation["prior_weight"] + sum(s["weight"] for s in explanation["fields"])
    assert total == pytest.approx(weights[1], abs=0.02)
    # and the parameters survive storage
    assert engine.Model.from_json(model.to_json()).tf == model.tf
