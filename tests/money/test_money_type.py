"""The Money column type: integer cents in the database, Decimal out, floats and sub-cent amounts refused."""

from decimal import Decimal

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import StatementError

from portal.models import EntryKind, Gl, JournalEntry, Posting
from portal.models.base import Money
from portal.services import ledger
from portal.services.money import parse_amount, to_money

D = Decimal


@pytest.fixture
def entry(db):
    entry = JournalEntry(kind=EntryKind.DEPOSIT, memo="money type test")
    db.session.add(entry)
    db.session.flush()
    return entry


def _insert_posting(db, entry, amount):
    db.session.execute(insert(Posting).values(entry_id=entry.id, gl=Gl.CASH, amount=amount))


def test_a_float_is_refused_when_bound(db, entry):
    with pytest.raises(StatementError) as exc:
        _insert_posting(db, entry, 0.1)
    assert isinstance(exc.value.orig, TypeError)


def test_the_money_type_refuses_floats_and_bools_directly(db):
    money = Money()
    for value in (0.1, 1.0, True):
        with pytest.raises(TypeError):
            money.process_bind_param(value, db.engine.dialect)


def test_more_than_two_decimals_is_refused(db, entry):
    with pytest.raises(StatementError) as exc:
        _insert_posting(db, entry, D("0.105"))
    assert isinstance(exc.value.orig, ValueError)


def test_money_is_stored_as_integer_cents_and_read_back_as_two_place_decimals(db, entry, tampers_ledger):
    _insert_posting(db, entry, D("1234.5"))
    _insert_posting(db, entry, 7)
    raw = db.session.execute(text("SELECT amount FROM postings WHERE entry_id = :e ORDER BY id"),
                             {"e": entry.id}).scalars().all()
    assert raw == [123450, 700]
    amounts = db.session.scalars(select(Posting.amount).where(Posting.entry_id == entry.id)
                                 .order_by(Posting.id)).all()
    assert amounts == [D("1234.50"), D("7.00")]
    assert all(str(a).endswith((".50", ".00")) for a in amounts)


def test_sql_sum_of_ten_postings_of_ten_cents_is_exactly_one(db):
    entry = ledger.post(EntryKind.DEPOSIT, [ledger.Line(Gl.CASH, D("0.10")) for _ in range(10)]
                        + [ledger.Line(Gl.SUSPENSE, D("-1.00"))], memo="ten dimes")
    total = db.session.scalar(select(func.sum(Posting.amount))
                              .where(Posting.entry_id == entry.id, Posting.gl == Gl.CASH))
    assert total == D("1.00")
    assert isinstance(total, Decimal)
    assert str(total) == "1.00"
    assert ledger.balance(Gl.CASH) == D("1.00")
    assert ledger.balance(Gl.SUSPENSE) == D("-1.00")
    raw = db.session.execute(text("SELECT SUM(amount) FROM postings WHERE entry_id = :e AND gl = :gl"),
                             {"e": entry.id, "gl": Gl.CASH.value}).scalar()
    assert int(raw) == 100


def test_sql_comparison_against_a_decimal_is_exact(db):
    entry = ledger.post(EntryKind.DEPOSIT, [ledger.Line(Gl.CASH, D("0.10")) for _ in range(10)]
                        + [ledger.Line(Gl.SUSPENSE, D("-1.00"))], memo="ten dimes")
    matched = db.session.scalar(select(func.count()).select_from(Posting)
                                .where(Posting.entry_id == entry.id, Posting.amount == D("0.10")))
    assert matched == 10


def test_to_money_rounds_half_up_and_refuses_floats():
    assert to_money(D("0.005")) == D("0.01")
    assert to_money(D("0.004999")) == D("0.00")
    assert to_money(D("-0.005")) == D("-0.01")
    assert to_money(3) == D("3.00")
    with pytest.raises(TypeError):
        to_money(0.1)


@pytest.mark.parametrize("raw, expected", [("1,500", D("1500.00")), ("1500.5", D("1500.50")),
                                           (" 12.34 ", D("12.34")), (D("7"), D("7.00"))])
def test_parse_amount_accepts_what_people_type(raw, expected):
    assert parse_amount(raw) == expected


@pytest.mark.parametrize("raw", ["", "abc", "1.234", "-5", "0", "NaN", "Infinity"])
def test_parse_amount_refuses_bad_input_with_a_message(raw):
    with pytest.raises(ValueError):
        parse_amount(raw)
