"""Savings: deposits and withdrawals through the ledger, exact balances, never overdrawn, own record only."""

import re
from decimal import Decimal

import pytest

from portal.models import DepositAccount, Gl, JournalEntry, Posting, Role, Transaction, TransactionKind
from portal.services import ledger, savings
from portal.services.errors import Forbidden, ValidationFailed

D = Decimal
CODE = re.compile(r"[A-Z][A-Z0-9]{9}")


def test_deposits_and_withdrawals_keep_an_exact_balance(customer, staff):
    first = savings.deposit(customer, "1000.10", source="cash", actor=staff.loan_officer)
    second = savings.deposit(customer, "0.20", source="mpesa", actor=staff.loan_officer)
    third = savings.withdraw(customer, "300.15", actor=staff.manager)
    assert savings.balance_of(customer) == D("700.15")
    assert [(t.kind, t.amount, t.balance_after) for t in (first, second, third)] == [
        (TransactionKind.DEPOSIT, D("1000.10"), D("1000.10")),
        (TransactionKind.DEPOSIT, D("0.20"), D("1000.30")),
        (TransactionKind.WITHDRAWAL, D("300.15"), D("700.15")),
    ]
    account = savings.account_for(customer)
    assert ledger.balance(Gl.CUSTOMER_DEPOSITS, deposit_account_id=account.id) == D("-700.15")
    assert ledger.balance(Gl.CASH) == D("700.15")


def test_ten_deposits_of_ten_cents_make_exactly_one_shilling(customer, staff):
    for _ in range(10):
        savings.deposit(customer, "0.10", source="cash", actor=staff.loan_officer)
    assert savings.balance_of(customer) == D("1.00")


def test_withdrawing_the_whole_balance_leaves_zero(customer, staff):
    savings.deposit(customer, "250", source="cash", actor=staff.loan_officer)
    savings.withdraw(customer, "250.00", actor=staff.loan_officer)
    assert savings.balance_of(customer) == D("0.00")


def test_a_withdrawal_beyond_the_balance_is_refused_naming_the_available_amount_and_writes_nothing(
        customer, staff, rows):
    savings.deposit(customer, "1000", source="cash", actor=staff.loan_officer)
    before = rows(JournalEntry), rows(Posting), rows(Transaction)
    with pytest.raises(ValidationFailed) as exc:
        savings.withdraw(customer, "1000.01", actor=staff.loan_officer)
    assert exc.value.available == D("1000.00")
    assert "1,000.00 available" in exc.value.errors["amount"][0]
    assert savings.balance_of(customer) == D("1000.00")
    assert (rows(JournalEntry), rows(Posting), rows(Transaction)) == before


def test_a_withdrawal_from_a_customer_who_never_saved_is_refused(customer, staff, rows):
    with pytest.raises(ValidationFailed) as exc:
        savings.withdraw(customer, "1", actor=staff.loan_officer)
    assert "0.00 available" in exc.value.errors["amount"][0]
    assert rows(Transaction) == 0


@pytest.mark.parametrize("amount", ["0", "-10", "abc", "10.001", ""])
def test_bad_amounts_are_refused(customer, staff, amount, rows):
    with pytest.raises(ValidationFailed) as exc:
        savings.deposit(customer, amount, source="cash", actor=staff.loan_officer)
    assert "amount" in exc.value.errors
    assert rows(JournalEntry) == 0


def test_one_savings_account_per_customer(customer, staff, rows):
    savings.deposit(customer, "10", source="cash", actor=staff.loan_officer)
    savings.deposit(customer, "10", source="cash", actor=staff.loan_officer)
    assert rows(DepositAccount, DepositAccount.customer_id == customer.id) == 1


def test_transaction_codes_are_ten_characters_starting_with_a_letter_and_unique(customer, staff):
    codes = [savings.deposit(customer, "1", source="cash", actor=staff.loan_officer).code for _ in range(40)]
    codes += [savings.withdraw(customer, "1", actor=staff.loan_officer).code for _ in range(40)]
    assert all(CODE.fullmatch(code) for code in codes), codes
    assert len(set(codes)) == len(codes)


def test_generated_codes_have_the_mpesa_shape():
    codes = [savings.transaction_code() for _ in range(2000)]
    assert all(CODE.fullmatch(code) for code in codes)
    assert len(set(codes)) == len(codes)


# --- who may move money -----------------------------------------------------------------------------------


@pytest.fixture
def borrower_and_records(make_user, make_customer):
    borrower = make_user(Role.BORROWER)
    own = make_customer(user_id=borrower.id)
    other = make_customer()
    return borrower, own, other


def test_a_borrower_moves_money_on_their_own_record(borrower_and_records):
    borrower, own, _ = borrower_and_records
    savings.deposit(own, "500", source="mpesa", actor=borrower)
    savings.withdraw(own, "200", actor=borrower)
    assert savings.balance_of(own) == D("300.00")


def test_a_borrower_cannot_move_money_on_someone_elses_record(borrower_and_records, staff, rows):
    borrower, _, other = borrower_and_records
    savings.deposit(other, "500", source="cash", actor=staff.loan_officer)
    with pytest.raises(Forbidden):
        savings.deposit(other, "100", source="mpesa", actor=borrower)
    with pytest.raises(Forbidden):
        savings.withdraw(other, "100", actor=borrower)
    with pytest.raises(Forbidden):
        savings.transactions_of(other, actor=borrower)
    assert savings.balance_of(other) == D("500.00")
    assert rows(Transaction) == 1


@pytest.mark.parametrize("role", [Role.COLLECTION_OFFICER, Role.CALLING_AGENT])
def test_roles_without_the_money_permission_cannot_deposit_or_withdraw(customer, staff, make_user, role):
    actor = staff.collector if role == Role.COLLECTION_OFFICER else make_user(role)
    with pytest.raises(Forbidden):
        savings.deposit(customer, "100", source="cash", actor=actor)
    with pytest.raises(Forbidden):
        savings.withdraw(customer, "100", actor=actor)


def test_a_manager_cannot_move_money_for_a_customer_outside_their_team(customer, staff):
    with pytest.raises(Forbidden):
        savings.deposit(customer, "100", source="cash", actor=staff.outside_manager)
    savings.deposit(customer, "100", source="cash", actor=staff.manager)
    assert savings.balance_of(customer) == D("100.00")


def test_transactions_are_listed_newest_first(customer, staff):
    savings.deposit(customer, "100", source="cash", actor=staff.loan_officer)
    savings.withdraw(customer, "40", actor=staff.loan_officer)
    listed = savings.transactions_of(customer, actor=staff.loan_officer)
    assert [(t.kind, t.amount, t.balance_after) for t in listed] == [
        (TransactionKind.WITHDRAWAL, D("40.00"), D("60.00")), (TransactionKind.DEPOSIT, D("100.00"), D("100.00"))]
