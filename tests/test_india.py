from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from resight.india import format_inr, group_indian, paise_to_rupees, rupees_to_paise


@pytest.mark.parametrize(
    ("paise", "text"),
    [
        (0, "₹0.00"),
        (99, "₹0.99"),
        (100_000, "₹1,000.00"),
        (12_345_678_00, "₹1,23,45,678.00"),
        (1_00_00_000_00, "₹1,00,00,000.00"),
        (-5_00_000_50, "-₹5,00,000.50"),
    ],
)
def test_format_inr_uses_lakh_and_crore_grouping(paise: int, text: str) -> None:
    assert format_inr(paise) == text


@given(st.integers(min_value=0, max_value=10**15))
def test_grouping_keeps_the_digits(value: int) -> None:
    grouped = group_indian(str(value))
    assert grouped.replace(",", "") == str(value)
    parts = grouped.split(",")
    assert len(parts[-1]) <= 3
    assert all(len(part) == 2 for part in parts[1:-1])


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_paise_round_trip_exactly(paise: int) -> None:
    assert rupees_to_paise(paise_to_rupees(paise)) == paise


def test_rupees_to_paise_rejects_non_amounts() -> None:
    assert rupees_to_paise("1299.5") == 129950
    assert rupees_to_paise(Decimal("0.005")) == 1
    with pytest.raises(ValueError, match="finite"):
        rupees_to_paise("NaN")
    with pytest.raises(ValueError, match="not an amount"):
        rupees_to_paise("twelve")
