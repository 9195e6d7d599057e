"""factory-boy factories over the test's session."""

from datetime import date
from decimal import Decimal

import factory
from werkzeug.security import generate_password_hash

from portal.models import Customer, Frequency, InterestMethod, Loan, LoanStatus, Role, User
from portal.models.base import db

PASSWORD = "Passw0rd!"
_PASSWORD_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")


class Base(factory.alchemy.SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731 - the per-test session, looked up late
        # Committed (a savepoint released inside the test's outer transaction), so a request
        # that rolls back on an error cannot take the test's setup data with it.
        sqlalchemy_session_persistence = "commit"


class UserFactory(Base):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.co.ke")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    role = Role.LOAN_OFFICER
    password_hash = _PASSWORD_HASH
    is_active = True


class CustomerFactory(Base):
    class Meta:
        model = Customer

    customer_code = factory.Sequence(lambda n: f"T{n:07d}")
    account_number = factory.Sequence(lambda n: f"test{n}")
    name = factory.Faker("name")
    phone = factory.Sequence(lambda n: f"+2547{n % 10**8:08d}")


class LoanFactory(Base):
    """A disbursed loan as a row only (no schedule, no ledger): for tests that need a loan to point at."""

    class Meta:
        model = Loan

    loan_number = factory.Sequence(lambda n: f"LNF{n:07d}")
    principal = Decimal("5000.00")
    annual_rate = Decimal("12")
    interest_method = InterestMethod.FLAT
    frequency = Frequency.MONTHLY
    term_periods = 6
    application_date = factory.LazyFunction(date.today)
    status = LoanStatus.DISBURSED
