"""schedules.build: exact Decimal installments, due dates, fees, and properties over random terms."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.models import FeeMode, Frequency, InterestMethod
from portal.models.base import CENT
from portal.services import schedules

D = Decimal
START = date(2025, 1, 15)


def build(principal="50000.00", rate="10.5", term=12, frequency=Frequency.MONTHLY,
          method=InterestMethod.DECLINING, start=START, **kwargs):
    return schedules.build(D(principal), D(rate), term, frequency, method, start, **kwargs)


# --- the worked example: 50,000.00 at 10.5% a year over 12 months ----------------------------------------


def test_declining_installments_are_equal_and_the_last_absorbs_the_rounding():
    lines = build()
    assert [line.total for line in lines[:11]] == [D("4407.43")] * 11
    assert lines[11].total == D("4407.42")


def test_declining_first_installment_splits_into_interest_on_the_full_principal_and_the_rest():
    first = build()[0]
    assert first.interest == D("437.50")
    assert first.principal == D("3969.93")
    assert first.fee == D("0.00")


def test_declining_total_interest_is_exact():
    lines = build()
    assert sum(line.interest for line in lines) == D("2889.15")
    assert sum(line.total for line in lines) == D("52889.15")


def test_declining_interest_falls_as_principal_is_repaid():
    interest = [line.interest for line in build()]
    assert interest == sorted(interest, reverse=True)
    assert interest[-1] == D("38.23")


def test_flat_total_and_installments_are_exact():
    lines = build(method=InterestMethod.FLAT)
    assert sum(line.total for line in lines) == D("55250.00")
    assert [line.total for line in lines[:11]] == [D("4604.17")] * 11
    assert lines[11].total == D("4604.13")


def test_flat_interest_is_charged_on_the_original_principal_every_period():
    lines = build(method=InterestMethod.FLAT)
    assert sum(line.interest for line in lines) == D("5250.00")
    assert lines[0].interest == D("437.50")
    assert lines[0].principal == D("4166.67")
    assert lines[11].principal == D("4166.63")


@pytest.mark.parametrize("method", list(InterestMethod))
def test_principal_parts_sum_exactly_to_the_principal(method):
    for principal in ("50000.00", "12345.67", "100.01", "999999.99"):
        for term in (1, 3, 7, 12, 13):
            lines = build(principal=principal, term=term, method=method)
            assert sum(line.principal for line in lines) == D(principal)


# --- due dates ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("frequency, first_due", [
    (Frequency.DAILY, date(2025, 1, 16)),
    (Frequency.WEEKLY, date(2025, 1, 22)),
    (Frequency.FORTNIGHTLY, date(2025, 1, 29)),
    (Frequency.MONTHLY, date(2025, 2, 15)),
])
def test_first_installment_falls_due_one_period_after_the_start(frequency, first_due):
    assert build(frequency=frequency)[0].due_date == first_due


@pytest.mark.parametrize("frequency, days", [(Frequency.DAILY, 1), (Frequency.WEEKLY, 7),
                                             (Frequency.FORTNIGHTLY, 14)])
def test_daily_weekly_and_fortnightly_installments_are_evenly_spaced(frequency, days):
    lines = build(frequency=frequency, term=10)
    assert [line.due_date for line in lines] == [START + timedelta(days=days * n) for n in range(1, 11)]


def test_monthly_from_31_january_clamps_to_each_month_end():
    lines = build(start=date(2024, 1, 31), term=12)
    assert [line.due_date for line in lines] == [
        date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30), date(2024, 5, 31), date(2024, 6, 30),
        date(2024, 7, 31), date(2024, 8, 31), date(2024, 9, 30), date(2024, 10, 31), date(2024, 11, 30),
        date(2024, 12, 31), date(2025, 1, 31)]


def test_monthly_clamping_does_not_drift_after_a_short_month():
    lines = build(start=date(2025, 1, 31), term=3)
    assert [line.due_date for line in lines] == [date(2025, 2, 28), date(2025, 3, 31), date(2025, 4, 30)]


@pytest.mark.parametrize("day, months, expected", [
    (date(2024, 1, 31), 1, date(2024, 2, 29)),
    (date(2023, 1, 31), 1, date(2023, 2, 28)),
    (date(2024, 3, 31), -1, date(2024, 2, 29)),
    (date(2024, 11, 30), 3, date(2025, 2, 28)),
    (date(2024, 12, 15), 1, date(2025, 1, 15)),
    (date(2024, 8, 31), 12, date(2025, 8, 31)),
])
def test_add_months_keeps_the_day_or_clamps_to_the_month_end(day, months, expected):
    assert schedules.add_months(day, months) == expected


# --- zero rate and fees ---------------------------------------------------------------------------------


@pytest.mark.parametrize("method", list(InterestMethod))
def test_zero_rate_charges_no_interest_and_splits_the_principal(method):
    lines = build(principal="1000.00", rate="0", term=3, method=method)
    assert [line.interest for line in lines] == [D("0.00")] * 3
    assert [line.principal for line in lines] == [D("333.33"), D("333.33"), D("333.34")]


def test_added_fee_falls_due_with_the_first_installment_only():
    lines = build(fee=D("1000.00"), fee_mode=FeeMode.ADDED)
    assert lines[0].fee == D("1000.00")
    assert lines[0].total == D("5407.43")
    assert all(line.fee == D("0.00") for line in lines[1:])
    assert sum(line.total for line in lines) == D("53889.15")


def test_deducted_fee_is_not_part_of_the_schedule():
    lines = build(fee=D("1000.00"), fee_mode=FeeMode.DEDUCTED)
    assert all(line.fee == D("0.00") for line in lines)
    assert sum(line.total for line in lines) == D("52889.15")


def test_fee_for_percent_and_fixed():
    assert schedules.fee_for(D("50000.00"), "percent", D("2")) == D("1000.00")
    assert schedules.fee_for(D("33333.33"), "percent", D("1.5")) == D("500.00")
    assert schedules.fee_for(D("50000.00"), "fixed", D("250")) == D("250.00")


def test_a_schedule_needs_at_least_one_installment():
    with pytest.raises(ValueError):
        build(term=0)


def test_floats_are_refused():
    with pytest.raises(TypeError):
        schedules.build(50000.0, D("10.5"), 12, Frequency.MONTHLY, InterestMethod.DECLINING, START)


def test_a_tiny_principal_over_many_installments_never_has_a_negative_principal_part():
    # 1.00 over 27: 0.04 a period half-up, and 26 x 0.04 = 1.04 already exceeds the principal.
    for method in InterestMethod:
        lines = build(principal="1.00", rate="0", term=27, frequency=Frequency.DAILY, method=method)
        assert sum(line.principal for line in lines) == D("1.00")
        assert all(line.principal >= 0 for line in lines), [line.principal for line in lines]


def test_flat_interest_parts_are_never_negative():
    # 1,533.97 at 1.01% over 31 days, flat: total interest 1.32, yet 30 x 0.05 = 1.50 of it is charged
    # before the last installment (each pays 49.53, of which 49.48 is principal).
    lines = build(principal="1533.97", rate="1.01", term=31, frequency=Frequency.DAILY, method=InterestMethod.FLAT)
    assert sum(line.principal for line in lines) == D("1533.97")
    assert all(line.interest >= 0 for line in lines), [line.interest for line in lines]


# --- properties over random terms -----------------------------------------------------------------------


def _is_cents(value: Decimal) -> bool:
    return value == value.quantize(CENT) and value.as_tuple().exponent == -2


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(principal=st.integers(100, 1_000_000_000).map(lambda cents: D(cents) / 100),
       rate=st.integers(0, 6000).map(lambda hundredths: D(hundredths) / 100),
       term=st.integers(1, 60),
       method=st.sampled_from(list(InterestMethod)),
       frequency=st.sampled_from(list(Frequency)))
def test_any_schedule_repays_the_principal_exactly_in_non_negative_cents(principal, rate, term, method, frequency):
    lines = schedules.build(principal, rate, term, frequency, method, START)
    assert len(lines) == term
    assert [line.number for line in lines] == list(range(1, term + 1))
    assert sum(line.principal for line in lines) == principal
    for line in lines:
        for part in (line.principal, line.interest, line.fee):
            assert _is_cents(part), (line, part)
            assert part >= 0, line
    due = [line.due_date for line in lines]
    assert due == sorted(set(due)) and due[0] > START
