"""M-Pesa payments booked together (the booker's batches) come out exactly as if booked one by one, in a
fixed number of statements however many there are."""

from decimal import Decimal

from sqlalchemy import event

from portal.models import LoanStatus, Payment, PaymentStatus
from portal.models.base import db
from portal.services import loans, repayments, savings
from portal.services.repayments import Delivery

D = Decimal


def paid(loan) -> list[tuple[Decimal, Decimal]]:
    db.session.expire_all()
    return [(i.interest_paid, i.principal_paid) for i in sorted(loan.installments, key=lambda i: i.number)[:3]]


def test_two_payments_on_one_loan_in_a_batch_allocate_one_after_the_other(make_customer, make_loan):
    together, apart = make_customer(phone="+254711000001"), make_customer(phone="+254711000002")
    batched, single = make_loan(together), make_loan(apart)

    booked = repayments.receive_mpesa_many([Delivery("QBA0000001", D("4000.00"), "0711000001"),
                                            Delivery("QBA0000002", D("1000.00"), "0711000001")])
    repayments.receive_mpesa(receipt="QBA0000003", amount="4000.00", phone="0711000002")
    repayments.receive_mpesa(receipt="QBA0000004", amount="1000.00", phone="0711000002")

    assert [(r.created, r.payment.loan_id, r.payment.amount) for r in booked] == [
        (True, batched.id, D("4000.00")), (True, batched.id, D("1000.00"))]
    # Installment 1 (interest 437.50, principal 3,969.93) paid off; installment 2's interest 402.76 and
    # 189.81 of its principal from the second payment.
    assert paid(batched) == [(D("437.50"), D("3969.93")), (D("402.76"), D("189.81")), (D("0.00"), D("0.00"))]
    assert paid(batched) == paid(single)
    assert loans.outstanding(batched) == loans.outstanding(single) == D("47889.15")
    db.session.refresh(batched)
    db.session.refresh(single)
    assert (batched.oldest_unpaid_due, batched.principal_outstanding) == (
        single.oldest_unpaid_due, single.principal_outstanding)
    assert [(a.installment_id, a.interest, a.principal) for a in booked[1].payment.allocations] == [
        (batched.installments[0].id, D("0.00"), D("407.43")), (batched.installments[1].id, D("402.76"), D("189.81"))]


def test_a_payment_after_one_that_repaid_the_loan_is_matched_afresh(make_customer, make_loan):
    customer = make_customer(phone="+254711000001")
    loan = make_loan(customer)

    first, second = repayments.receive_mpesa_many([Delivery("QBA0000001", D("52889.15"), "0711000001"),
                                                   Delivery("QBA0000002", D("100.00"), "0711000001")])

    db.session.refresh(loan)
    assert loan.status == LoanStatus.CLOSED and loans.outstanding(loan) == D("0.00")
    assert (first.payment.loan_id, first.payment.overpayment) == (loan.id, D("0.00"))
    assert (second.payment.loan_id, second.payment.status) == (None, PaymentStatus.APPLIED)
    assert savings.balance_of(customer) == D("100.00")  # no active loan left: the customer's savings


def test_a_batch_holding_a_receipt_booked_before_books_the_rest_and_repeats_nothing(make_customer, make_loan):
    loan = make_loan(make_customer(phone="+254711000001"))
    earlier = repayments.receive_mpesa(receipt="QBA0000001", amount="1000", phone="0711000001").payment

    again, fresh = repayments.receive_mpesa_many([Delivery("QBA0000001", D("1000.00"), "0711000001"),
                                                  Delivery("QBA0000002", D("500.00"), "0711000001")])

    assert (again.created, again.payment.id) == (False, earlier.id)
    assert (fresh.created, fresh.payment.amount) == (True, D("500.00"))
    assert db.session.query(Payment).count() == 2
    assert loans.outstanding(loan) == D("52889.15") - D("1500.00")


def test_a_batch_reads_only_what_its_payments_reach_and_still_knows_what_each_loan_owes(make_customer, make_loan):
    exact, large = make_loan(make_customer(phone="+254711000001")), make_loan(make_customer(phone="+254711000002"))
    first, second, third = sorted(exact.installments, key=lambda i: i.number)[:3]

    repayments.receive_mpesa_many([Delivery("QBA0000001", D("4407.43"), "0711000001"),  # installment 1 exactly
                                   Delivery("QBA0000002", D("4407.43"), "0711000001"),  # then installment 2
                                   Delivery("QBA0000003", D("30000.00"), "0711000002")])

    db.session.refresh(exact)
    db.session.refresh(large)
    assert [i.outstanding for i in (first, second, third)] == [D("0.00"), D("0.00"), D("4407.43")]
    # principal 50,000 - 3,969.93 - 4,004.67; the oldest unpaid is the third, which nothing reached
    assert (exact.oldest_unpaid_due, exact.principal_outstanding) == (third.due_date, D("42025.40"))
    assert loans.outstanding(exact) == D("52889.15") - D("8814.86")
    # 30,000 pays six installments whole (26,444.58) and 3,555.42 of the seventh
    assert large.oldest_unpaid_due == sorted(large.installments, key=lambda i: i.number)[6].due_date
    assert loans.outstanding(large) == D("22889.15")
    assert large.principal_outstanding == sum((i.principal_due - i.principal_paid for i in large.installments),
                                              D("0.00"))


def test_a_loan_s_book_holds_the_installments_its_payment_reaches_and_the_next(make_customer, make_loan):
    loan = make_loan(make_customer(phone="+254711000001"))  # 12 of 4,407.43 (the last 4,407.42)

    numbers = {i.id: i.number for i in loan.installments}

    def read(amount: str) -> list[int]:
        book = repayments._open_books(db.session.connection(), {loan.id: D(amount)})[loan.id]
        return [numbers[inst_id] for inst_id, _, _ in book.unpaid]

    assert read("4407.43") == [1, 2]  # the one it pays, and the next (then the oldest unpaid)
    assert read("8814.86") == [1, 2, 3]
    assert read("30000.00") == [1, 2, 3, 4, 5, 6, 7]
    assert read("100000.00") == list(range(1, 13))
    book = repayments._open_books(db.session.connection(), {loan.id: D("1")})[loan.id]
    assert (book.owed, book.principal) == (D("52889.15"), D("50000.00"))  # the whole loan's, from any window


def test_a_batch_costs_the_same_statements_for_three_payments_as_for_nine(make_customer, make_loan):
    for n in range(9):
        make_loan(make_customer(phone=f"+25471100{n:04d}"))
    codes = iter(range(100))

    def statements_for(count: int) -> list[str]:
        seen = []

        def listen(conn, cursor, statement, *args):
            seen.append(statement)
        event.listen(db.engine, "before_cursor_execute", listen)
        try:
            repayments.receive_mpesa_many([Delivery(f"QBC{next(codes):07d}", D("5000.00"), f"071100{n:04d}")
                                           for n in range(count)])  # each pays an installment off
        finally:
            event.remove(db.engine, "before_cursor_execute", listen)
        return [statement.split(None, 3)[:3] for statement in seen
                if not statement.startswith(("SAVEPOINT", "RELEASE")) and not (
                    # SQLite cannot say which id RETURNING gave which row of a multi-row INSERT, so
                    # SQLAlchemy inserts journal entries (whose ids are needed, in order) one at a time.
                    sqlite and statement.startswith("INSERT INTO journal_entries"))]

    sqlite = db.engine.dialect.name == "sqlite"
    assert statements_for(3) == statements_for(9)
