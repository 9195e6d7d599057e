"""The reconciliation queue in the portal: the money-core fixtures (staff, KYC'd customers, products, loans, the
ledger checked after every test) reused from tests/money."""

from tests.money import conftest as money

# The money-core fixtures, registered here by being bound to their names (the ledger check is autouse).
ledger_stays_balanced = money.ledger_stays_balanced
staff = money.staff
make_customer = money.make_customer
customer = money.customer
make_product = money.make_product
product = money.product
make_loan = money.make_loan
