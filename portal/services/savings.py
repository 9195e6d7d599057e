"""Savings: deposits and withdrawals through the ledger, with 000's transaction records."""

import string
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.models import (
    Customer,
    DepositAccount,
    DepositKind,
    EntryKind,
    Gl,
    JournalEntry,
    Transaction,
    TransactionKind,
    User,
)
from portal.models.base import db
from portal.services import codes, customers, permissions
from portal.services.atomic import atomic
from portal.services.errors import ValidationFailed
from portal.services.ledger import InsufficientFunds, Line, post
from portal.services.money import ZERO, parse_amount

CODE_ALPHABET = string.ascii_uppercase + string.digits


def transaction_code() -> str:
    """An M-Pesa-style code: ten capitals and digits, starting with a letter."""
    return codes.draw([string.ascii_uppercase] + [CODE_ALPHABET] * 9)


def account_for(customer: Customer, kind: DepositKind = DepositKind.SAVINGS) -> DepositAccount:
    """The customer's account of `kind`, opened on first use (safe when two requests race to open it)."""
    stmt = select(DepositAccount).where(DepositAccount.customer_id == customer.id, DepositAccount.kind == kind)
    account = db.session.scalars(stmt).first()
    if account is not None:
        return account
    try:
        with db.session.begin_nested():
            account = DepositAccount(customer_id=customer.id, kind=kind, balance=ZERO)
            db.session.add(account)
    except IntegrityError:
        account = db.session.scalars(stmt).one()
    return account


def existing_account(customer: Customer, kind: DepositKind = DepositKind.SAVINGS) -> DepositAccount | None:
    return db.session.scalars(select(DepositAccount).where(
        DepositAccount.customer_id == customer.id, DepositAccount.kind == kind)).first()


def balance_of(customer: Customer) -> Decimal:
    account = existing_account(customer)
    return account.balance if account else ZERO


def record(customer: Customer, kind: TransactionKind, amount: Decimal, entry: JournalEntry, *,
           source: str = "", actor: User | None, loan_id: int | None = None,
           balance_after: Decimal | None = None) -> Transaction:
    txn = Transaction(code=transaction_code(), customer_id=customer.id, kind=kind, amount=amount, source=source,
                      balance_after=balance_after, entry_id=entry.id, loan_id=loan_id,
                      created_by_id=actor.id if actor else None)
    db.session.add(txn)
    db.session.flush()
    return txn


def _amount(raw) -> Decimal:
    try:
        return parse_amount(raw)
    except ValueError as exc:
        raise ValidationFailed({"amount": [str(exc)]}) from None


@atomic
def deposit(customer: Customer, raw_amount, *, source: str, actor: User) -> Transaction:
    permissions.require(actor, "money.deposit")
    customers.ensure_visible(customer, actor)
    amount = _amount(raw_amount)
    account = account_for(customer)
    entry = post(EntryKind.DEPOSIT, [
        Line(Gl.CASH, amount, customer.id),
        Line(Gl.CUSTOMER_DEPOSITS, -amount, customer.id, deposit_account_id=account.id),
    ], memo=f"deposit via {source}", actor=actor)
    return record(customer, TransactionKind.DEPOSIT, amount, entry, source=source, actor=actor,
                  balance_after=account.balance)


@atomic
def withdraw(customer: Customer, raw_amount, *, actor: User) -> Transaction:
    """Withdraw; never below zero, even when two withdrawals arrive at once."""
    permissions.require(actor, "money.withdraw")
    customers.ensure_visible(customer, actor)
    amount = _amount(raw_amount)
    account = existing_account(customer)
    if account is None:  # nothing saved yet: refuse without opening an empty account
        raise InsufficientFunds(ZERO)
    entry = post(EntryKind.WITHDRAWAL, [
        Line(Gl.CUSTOMER_DEPOSITS, amount, customer.id, deposit_account_id=account.id),
        Line(Gl.CASH, -amount, customer.id),
    ], memo="withdrawal", actor=actor)
    return record(customer, TransactionKind.WITHDRAWAL, amount, entry, source="account", actor=actor,
                  balance_after=account.balance)


def transactions_of(customer: Customer, *, actor: User, limit: int = 200) -> list[Transaction]:
    customers.ensure_visible(customer, actor)
    return list(db.session.scalars(select(Transaction).where(Transaction.customer_id == customer.id)
                                   .order_by(Transaction.created_at.desc(), Transaction.id.desc()).limit(limit)))



def transaction_for(entry_id: int) -> Transaction:
    """The customer-facing record of one journal entry (what a money call just posted)."""
    return db.session.scalars(select(Transaction).where(Transaction.entry_id == entry_id)).one()
