"""How many seeds a trained arm trains with: what --seeds asks, several when cheap, within the budget."""

from __future__ import annotations

from compare.seeds import AUTO_SEED_MINUTES, AUTO_SEEDS, seed_count


def test_an_arm_that_trains_in_minutes_gets_several_seeds_and_one_that_trains_for_hours_gets_one() -> None:
    cheap = AUTO_SEED_MINUTES * 60 / (AUTO_SEEDS - 1)  # the further runs take exactly the allowance
    assert seed_count(cheap, None, None)[0] == AUTO_SEEDS
    wanted, said = seed_count(2 * 3600, None, None)
    assert wanted == 1 and "2.0 h" in said and "--seeds N" in said


def test_what_seeds_asks_wins_but_never_past_the_budget() -> None:
    assert seed_count(2 * 3600, 4, None) == (4, "4 seed(s), as --seeds asks")
    wanted, said = seed_count(60.0, 5, 150.0)  # two more minutes left: two more runs fit
    assert wanted == 3 and said.endswith("3 fit the rest of the budget")
    assert seed_count(60.0, None, 0.0)[0] == 1
