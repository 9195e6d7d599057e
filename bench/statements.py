"""python -m bench.statements: how long PDF statements take to gather and render.

A throwaway SQLite database: a 12-month loan (50,000 at 10.5%, declining) with its twelve
payments, and a customer with 1,000 savings movements. Prints wall and CPU seconds (the CPU
figure stays honest on a machine shared with other work).
"""

import argparse
import io
import os
import shutil
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

SECRET = "bench-statements-" + "s" * 32


def measure(fn, runs: int) -> tuple[float, float, object]:
    """(median wall seconds, median CPU seconds, last result) over `runs` calls."""
    walls, cpus, result = [], [], None
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), result


def page_count(pdf: bytes) -> int:
    from pypdf import PdfReader  # a dev dependency, as `make bench` installs

    return len(PdfReader(io.BytesIO(pdf)).pages)


def seed(rows: int):
    from portal.models import Customer, DisbursementChannel, KycLevel, Role, User
    from portal.models.base import db
    from portal.services import loans, products, repayments, savings

    def user(name: str, role: Role, **kwargs) -> User:
        staff = User(username=name, role=role, password_hash="!", first_name=name, **kwargs)
        db.session.add(staff)
        db.session.flush()
        return staff

    admin = user("admin", Role.ADMIN)
    manager = user("manager", Role.MANAGER)
    officer = user("officer", Role.LOAN_OFFICER, manager_id=manager.id)
    customer = Customer(customer_code="B0000001", account_number="bench1", name="Amina Wairimu",
                        phone="+254712000001", kyc_level=KycLevel.TIER_2, created_by_id=officer.id,
                        assigned_officer_id=officer.id)
    db.session.add(customer)
    product = products.create({
        "name": "Bench 12", "interest_method": "declining", "annual_rate": "10.5", "frequency": "monthly",
        "term_periods": 12, "min_principal": "1000", "max_principal": "1000000", "fee_type": "fixed",
        "fee_value": "0", "fee_mode": "deducted", "penalty_rate": "0", "grace_days": 0}, actor=admin)
    loan = loans.apply(customer, {"product_id": product.id, "principal": "50000"}, actor=officer)
    loans.approve(loan, actor=manager)
    loans.disburse(loan, DisbursementChannel.MPESA, actor=officer, on=date.today() - timedelta(days=370))
    for installment in loan.installments:
        repayments.record_payment(loan, installment.total_due, actor=officer)
    for n in range(rows):
        if n % 4 == 3:
            savings.withdraw(customer, "150.25", actor=officer)
        else:
            savings.deposit(customer, f"{200 + n % 97}.50", source="mpesa", actor=officer)
    db.session.commit()
    return loan.id, customer.id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000, help="savings movements in the long statement")
    parser.add_argument("--runs", type=int, default=5, help="renders of the loan statement (median shown)")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="mkopo-bench-statements-"))
    os.environ["MKOPO_INSTANCE_DIR"] = str(workdir)
    from flask_migrate import upgrade

    from portal import create_app
    from portal.models import Customer, Loan
    from portal.models.base import db
    from portal.services import business_day, statements

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'bench.db'}", "SECRET_KEY": SECRET,
                      "UPLOAD_FOLDER": str(workdir / "files"), "JOB_BACKEND": "eager"})
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        loan_id, customer_id = seed(args.rows)
        print(f"seeded a 12-month loan with 12 payments and {args.rows:,} savings movements "
              f"in {time.perf_counter() - started:.1f} s")

        loan = db.session.get(Loan, loan_id)
        customer = db.session.get(Customer, customer_id)
        gather_loan = measure(lambda: statements.build_loan_statement(loan), args.runs)
        loan_statement = gather_loan[2]
        cold = measure(lambda: statements.render_loan(loan_statement), 1)
        warm = measure(lambda: statements.render_loan(loan_statement), args.runs)

        today = business_day.today()
        gather_long = measure(lambda: statements.build_customer_statement(customer, today - timedelta(days=30),
                                                                          today), 1)
        long_statement = gather_long[2]
        render_long = measure(lambda: statements.render_customer(long_statement), 1)

        rows = [
            (f"loan statement, {loan_statement.rows} rows: gather", gather_loan),
            ("loan statement: first render in the process", cold),
            (f"loan statement: render (median of {args.runs})", warm),
            (f"customer statement, {long_statement.rows:,} rows: gather", gather_long),
            (f"customer statement, {long_statement.rows:,} rows: render", render_long),
        ]
        width = max(len(label) for label, _ in rows)
        print(f"{'':<{width}}  {'wall s':>8}  {'cpu s':>8}  {'pages':>5}  {'KB':>6}")
        for label, (wall, cpu, result) in rows:
            pages = size = ""
            if isinstance(result, bytes):
                pages, size = str(page_count(result)), f"{len(result) / 1024:.0f}"
            print(f"{label:<{width}}  {wall:>8.3f}  {cpu:>8.3f}  {pages:>5}  {size:>6}")
        per_row = render_long[1] / max(1, long_statement.rows) * 1000
        print(f"\nlong statement: {per_row:.1f} ms of CPU a row; statements of more than "
              f"{app.config['STATEMENT_INLINE_MAX_ROWS']} rows render in a background job.")
        # CPU time is what a render costs on a free core; wall time also counts the other work sharing it.
        target = "meets" if warm[1] < 2 else "MISSES"
        print(f"12-month loan statement: {warm[1]:.2f} s of CPU ({warm[0]:.2f} s wall on this machine now), "
              f"{target} the 2 s target.")
        db.session.remove()
        db.engine.dispose()
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
