"""Random sequences of money operations over a few customers, with the books checked after every step.

Each step runs as a request would: in a savepoint that a refused (DomainError) step rolls back, as
the app's error handler does. The machine keeps its own model of every savings balance and of
suspense, and checks the ledger against it.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from portal.models import (
    DepositAccount,
    DisbursementChannel,
    FeeMode,
    Gl,
    JournalEntry,
    KycLevel,
    Loan,
    LoanStatus,
    Payment,
    PaymentSource,
    PaymentStatus,
)
from portal.models.base import db
from portal.services import arrears, ledger, loans, repayments, savings
from portal.services.errors import Conflict, DomainError, ValidationFailed
from portal.services.money import ZERO
from tests.money.conftest import START

D = Decimal
PHONES = ("+254711000001", "+254711000002", "+254711000003")
UNKNOWN_PHONES = ("0733000111", "+254733000222")

amounts = st.integers(1, 6_000_000).map(lambda cents: D(cents) / 100)  # 0.01 .. 60,000.00
principals = st.integers(100_000, 20_000_000).map(lambda cents: D(cents) / 100)  # 1,000.00 .. 200,000.00


class Refused(Exception):
    """A step the service refused (its savepoint was rolled back)."""

    def __init__(self, error: DomainError):
        super().__init__(error)
        self.error = error


def request(fn):
    """Run `fn` like a request: its writes kept if it succeeds, rolled back if it raises a DomainError."""
    savepoint = db.session.begin_nested()
    try:
        result = fn()
    except DomainError as exc:
        savepoint.rollback()
        raise Refused(exc) from None
    except BaseException:
        savepoint.rollback()
        raise
    savepoint.commit()
    return result


class MoneyMachine(RuleBasedStateMachine):
    env = None  # set by the test: staff, customers and products (committed before the machine runs)

    def __init__(self):
        super().__init__()
        self.example = db.session.begin_nested()  # everything this example does is rolled back after it
        self.today = START
        self.receipts: list[str] = []
        self.receipt_counter = 0
        self.saved = {c.id: ZERO for c in self.env.customers}
        self.suspense = ZERO
        self.assigned: set[int] = set()  # payments that came out of suspense

    def teardown(self):
        self.example.rollback()
        db.session.expire_all()

    # --- helpers -------------------------------------------------------------------------------------------

    def customer(self, data):
        return data.draw(st.sampled_from(self.env.customers), label="customer")

    def loans_in(self, *statuses):
        return list(db.session.scalars(select(Loan).where(Loan.status.in_(statuses)).order_by(Loan.id)))

    def payments(self, status):
        return list(db.session.scalars(select(Payment).where(Payment.status == status).order_by(Payment.id)))

    def entries(self) -> int:
        return db.session.scalar(select(func.count()).select_from(JournalEntry))

    def credit_overpayment(self, payment):
        self.saved[payment.customer_id] += payment.overpayment

    # --- loans ---------------------------------------------------------------------------------------------

    @initialize(data=st.data())
    def open_the_books(self, data):
        """Most examples start with some loans out and some savings, so repayments get exercised."""
        for customer in self.env.customers:
            if data.draw(st.booleans(), label="saves"):
                self.deposit_for(customer, data.draw(amounts, label="first deposit"))
            if data.draw(st.booleans(), label="borrows"):
                self.lend_to(customer, data)

    def deposit_for(self, customer, amount):
        txn = request(lambda: savings.deposit(customer, amount, source="cash", actor=self.env.staff.loan_officer))
        self.saved[customer.id] += amount
        assert txn.balance_after == self.saved[customer.id]

    def lend_to(self, customer, data):
        product = data.draw(st.sampled_from(self.env.products), label="product")
        principal = data.draw(principals, label="principal")
        channel = data.draw(st.sampled_from(list(DisbursementChannel)), label="channel")
        loan = request(lambda: loans.apply(customer, {"product_id": product.id, "principal": principal},
                                           actor=self.env.staff.loan_officer))
        request(lambda: loans.approve(loan, actor=self.env.staff.manager))
        self.pay_out(loan, channel)

    def pay_out(self, loan, channel) -> bool:
        """Disburse; whether it was paid out (M-Pesa refuses a payout with cents: B2C sends whole shillings)."""
        paid_out = loan.principal - (loan.fee_amount if loan.fee_mode == FeeMode.DEDUCTED else ZERO)
        if channel == DisbursementChannel.MPESA and paid_out != paid_out.to_integral_value():
            with pytest.raises(Refused) as refused:
                request(lambda: loans.disburse(loan, channel, actor=self.env.staff.loan_officer, on=self.today))
            assert isinstance(refused.value.error, ValidationFailed) and loan.status == LoanStatus.APPROVED
            return False
        request(lambda: loans.disburse(loan, channel, actor=self.env.staff.loan_officer, on=self.today))
        if channel == DisbursementChannel.SAVINGS:
            self.saved[loan.customer_id] += paid_out
        return True

    @rule(data=st.data())
    def lend(self, data):
        self.lend_to(self.customer(data), data)

    @rule(data=st.data(), principal=principals)
    def apply(self, data, principal):
        customer = self.customer(data)
        product = data.draw(st.sampled_from(self.env.products), label="product")
        loan = request(lambda: loans.apply(customer, {"product_id": product.id, "principal": principal},
                                           actor=self.env.staff.loan_officer))
        assert loan.status == LoanStatus.PENDING

    @precondition(lambda self: self.loans_in(LoanStatus.PENDING))
    @rule(data=st.data(), approve=st.booleans())
    def decide(self, data, approve):
        loan = data.draw(st.sampled_from(self.loans_in(LoanStatus.PENDING)), label="pending loan")
        if approve:
            request(lambda: loans.approve(loan, actor=self.env.staff.manager))
        else:
            request(lambda: loans.reject(loan, "Not this time", actor=self.env.staff.manager))

    @precondition(lambda self: self.loans_in(LoanStatus.APPROVED))
    @rule(data=st.data(), channel=st.sampled_from(list(DisbursementChannel)))
    def disburse(self, data, channel):
        loan = data.draw(st.sampled_from(self.loans_in(LoanStatus.APPROVED)), label="approved loan")
        if not self.pay_out(loan, channel):
            return
        try:
            request(lambda: loans.disburse(loan, channel, actor=self.env.staff.loan_officer, on=self.today))
        except Refused as refused:
            assert isinstance(refused.error, Conflict)
        else:
            raise AssertionError("a loan was disbursed twice")

    @precondition(lambda self: self.loans_in(LoanStatus.DISBURSED))
    @rule(data=st.data())
    def write_off(self, data):
        if data.draw(st.integers(0, 4), label="rarely") != 0:
            return
        loan = data.draw(st.sampled_from(self.loans_in(LoanStatus.DISBURSED)), label="loan to write off")
        request(lambda: loans.write_off(loan, "Borrower absconded", actor=self.env.staff.manager))
        assert loans.outstanding(loan) == ZERO

    @rule(days=st.integers(1, 45))
    def accrue(self, days):
        self.today += timedelta(days=days)
        request(lambda: arrears.accrue_penalties(self.today))
        assert arrears.accrue_penalties(self.today) == (0, ZERO)  # the same day again charges nothing

    # --- repayments ----------------------------------------------------------------------------------------

    def repayment_amount(self, data, loan):
        owed = loans.outstanding(loan)
        return data.draw(st.one_of(amounts, st.just(owed), st.just(owed + D("0.01")),
                                   amounts.map(lambda extra: owed + extra)), label="amount")

    @precondition(lambda self: self.loans_in(LoanStatus.DISBURSED))
    @rule(data=st.data())
    def repay_cash(self, data):
        loan = data.draw(st.sampled_from(self.loans_in(LoanStatus.DISBURSED)), label="loan")
        amount = self.repayment_amount(data, loan)
        owed = loans.outstanding(loan)
        payment = request(lambda: repayments.record_payment(loan, amount, actor=self.env.staff.collector))
        assert payment.overpayment == max(ZERO, amount - owed)
        assert (loan.status == LoanStatus.CLOSED) == (amount >= owed)
        self.credit_overpayment(payment)

    @precondition(lambda self: self.loans_in(LoanStatus.DISBURSED))
    @rule(data=st.data())
    def repay_from_savings(self, data):
        loan = data.draw(st.sampled_from(self.loans_in(LoanStatus.DISBURSED)), label="loan")
        amount = self.repayment_amount(data, loan)
        available = self.saved[loan.customer_id]
        try:
            payment = request(lambda: repayments.pay_from_savings(loan, amount, actor=self.env.staff.loan_officer))
        except Refused as refused:
            assert isinstance(refused.error, ValidationFailed) and amount > available, refused.error
            return
        assert amount <= available
        self.saved[loan.customer_id] += payment.overpayment - amount

    @rule(data=st.data(), amount=amounts, how=st.sampled_from(["loan number", "account", "code", "phone", "unknown"]))
    def repay_mpesa(self, data, amount, how):
        customer = self.customer(data)
        active = [loan for loan in self.loans_in(LoanStatus.DISBURSED) if loan.customer_id == customer.id]
        phone, reference = None, None
        if how == "loan number" and active:
            reference = data.draw(st.sampled_from(active), label="loan").loan_number
        elif how == "account":
            reference = customer.account_number.upper()
        elif how == "code":
            reference = customer.customer_code.lower()
        elif how == "unknown":
            phone = data.draw(st.sampled_from(UNKNOWN_PHONES), label="unknown phone")
        else:
            phone = customer.phone.replace("+254", "0")
        oldest = loans.oldest_active(customer)
        self.receipt_counter += 1
        receipt = f"QSM{self.receipt_counter:07d}"
        result = request(lambda: repayments.receive_mpesa(receipt=receipt, amount=amount, phone=phone,
                                                          reference=reference))
        assert result.created
        payment = result.payment
        self.receipts.append(receipt)
        if how == "unknown":
            assert payment.status == PaymentStatus.UNMATCHED
            self.suspense += amount
        elif payment.loan_id is None:  # a known customer with no active loan: savings
            assert not active and payment.customer_id == customer.id
            self.saved[customer.id] += amount
        else:
            assert payment.customer_id == customer.id
            if how != "loan number" or reference is None:
                assert payment.loan_id == oldest.id
            self.credit_overpayment(payment)

    @precondition(lambda self: self.receipts)
    @rule(data=st.data())
    def deliver_a_receipt_again(self, data):
        receipt = data.draw(st.sampled_from(self.receipts), label="receipt")
        receipt = data.draw(st.sampled_from([receipt, receipt.lower(), f"  {receipt} "]), label="spelling")
        entries = self.entries()
        result = request(lambda: repayments.receive_mpesa(receipt=receipt, amount="1", phone=PHONES[0]))
        assert not result.created
        assert result.payment.receipt == receipt.strip().upper()
        assert self.entries() == entries

    @precondition(lambda self: self.payments(PaymentStatus.UNMATCHED) and self.loans_in(LoanStatus.DISBURSED))
    @rule(data=st.data())
    def assign_suspense(self, data):
        payment = data.draw(st.sampled_from(self.payments(PaymentStatus.UNMATCHED)), label="held payment")
        loan = data.draw(st.sampled_from(self.loans_in(LoanStatus.DISBURSED)), label="loan")
        request(lambda: repayments.assign(payment, loan, actor=self.env.staff.manager))
        self.suspense -= payment.amount
        self.assigned.add(payment.id)
        self.credit_overpayment(payment)

    @precondition(lambda self: self.payments(PaymentStatus.APPLIED))
    @rule(data=st.data())
    def reverse(self, data):
        payment = data.draw(st.sampled_from(self.payments(PaymentStatus.APPLIED)), label="payment")
        if payment.source == PaymentSource.SAVINGS:
            change = payment.amount - payment.overpayment
        elif payment.loan_id is None:
            change = -payment.amount
        else:
            change = -payment.overpayment
        written_off = payment.loan is not None and payment.loan.status == LoanStatus.WRITTEN_OFF
        affordable = self.saved[payment.customer_id] + change >= 0
        try:
            request(lambda: repayments.reverse(payment, "Entered in error", actor=self.env.staff.manager))
        except Refused as refused:
            assert isinstance(refused.error, Conflict) and (written_off or not affordable), refused.error
            return
        assert affordable and not written_off
        self.saved[payment.customer_id] += change
        if payment.id in self.assigned:  # its reversal puts the money back in suspense
            self.suspense += payment.amount
        try:
            request(lambda: repayments.reverse(payment, "Entered in error", actor=self.env.staff.manager))
        except Refused as refused:
            assert isinstance(refused.error, Conflict)
        else:
            raise AssertionError("a payment was reversed twice")

    # --- savings -------------------------------------------------------------------------------------------

    @rule(data=st.data(), amount=amounts)
    def deposit(self, data, amount):
        self.deposit_for(self.customer(data), amount)

    @rule(data=st.data(), amount=amounts)
    def withdraw(self, data, amount):
        customer = self.customer(data)
        try:
            txn = request(lambda: savings.withdraw(customer, amount, actor=self.env.staff.loan_officer))
        except Refused as refused:
            assert isinstance(refused.error, ValidationFailed) and amount > self.saved[customer.id], refused.error
            assert refused.error.available == self.saved[customer.id]
            return
        assert amount <= self.saved[customer.id]
        self.saved[customer.id] -= amount
        assert txn.balance_after == self.saved[customer.id]

    # --- invariants ----------------------------------------------------------------------------------------

    @invariant()
    def ledger_verifies(self):
        report = ledger.verify()
        assert report.ok, report.breaches

    @invariant()
    def no_deposit_is_below_zero_and_each_matches_the_model(self):
        assert db.session.scalar(select(func.count()).select_from(DepositAccount)
                                 .where(DepositAccount.balance < 0)) == 0
        for customer in self.env.customers:
            assert savings.balance_of(customer) == self.saved[customer.id], customer

    @invariant()
    def suspense_holds_the_unmatched_money(self):
        assert -ledger.balance(Gl.SUSPENSE) == self.suspense
        # Whatever sits in suspense is in the reconciliation queue, so someone can still assign it.
        assert sum((p.amount for p in self.payments(PaymentStatus.UNMATCHED)), ZERO) == self.suspense

    @invariant()
    def each_loan_owes_what_its_schedule_says(self):
        for loan in self.loans_in(LoanStatus.DISBURSED, LoanStatus.CLOSED):
            owed = sum((i.outstanding for i in loan.installments), ZERO)
            assert loans.outstanding(loan) == owed
            assert (loan.status == LoanStatus.CLOSED) == (owed == 0)
            assert loan.principal_outstanding == sum((i.principal_due - i.principal_paid
                                                      for i in loan.installments), ZERO)
            unpaid = [i.due_date for i in loan.installments if i.outstanding > 0]
            assert loan.oldest_unpaid_due == (min(unpaid) if unpaid else None)
            assert all(i.outstanding >= 0 and i.principal_paid <= i.principal_due for i in loan.installments)
        for loan in self.loans_in(LoanStatus.WRITTEN_OFF):
            assert loans.outstanding(loan) == ZERO


@pytest.fixture
def env(staff, make_customer, make_product):
    from types import SimpleNamespace

    customers = [make_customer(kyc=KycLevel.TIER_2, phone=phone) for phone in PHONES]
    products = [
        make_product(penalty_rate="5", grace_days=3, fee_type="fixed", fee_value="500", fee_mode="added"),
        make_product(interest_method="flat", frequency="weekly", annual_rate="24", term_periods=8,
                     fee_type="percent", fee_value="2", fee_mode="deducted", penalty_rate="1.5"),
        make_product(frequency="daily", annual_rate="0", term_periods=5, penalty_rate="2.5"),
    ]
    return SimpleNamespace(staff=staff, customers=customers, products=products)


def test_random_sequences_of_money_operations_keep_the_books_right(env):
    MoneyMachine.env = env
    try:
        run_state_machine_as_test(MoneyMachine, settings=settings(
            max_examples=25, stateful_step_count=25, deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                   HealthCheck.filter_too_much]))
    finally:
        MoneyMachine.env = None
