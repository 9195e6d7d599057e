"""Customer page tabs (lazy HTMX panes, ?tab= renders server-side), bounded queries, documents, list export."""

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from portal.models import (
    CustomerDocument,
    DocumentKind,
    Frequency,
    Installment,
    InteractionKind,
    InterestMethod,
    Loan,
    LoanStatus,
    Payment,
    PaymentSource,
    PaymentStatus,
    PromiseStatus,
    Role,
)
from portal.models.base import db
from portal.models.interactions import Interaction
from tests.dates import business_today
from tests.factories import CustomerFactory
from tests.pages import HX
from tests.queries import statements_sent

TABS = ("profile", "loans", "repayments", "interactions", "documents")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
START = business_today() - timedelta(days=75)  # days past due count from the app's business day


def seed(customer, rows: int, authors) -> None:
    """`rows` loans (three monthly installments, the first two past due), payments, calls and documents."""
    for k in range(rows):
        loan = Loan(loan_number=f"LN{customer.id:04d}{k:04d}", customer_id=customer.id, principal=Decimal("3000.00"),
                    annual_rate=Decimal("12"), interest_method=InterestMethod.FLAT, frequency=Frequency.MONTHLY,
                    term_periods=3, application_date=START, status=LoanStatus.DISBURSED, disbursed_on=START,
                    oldest_unpaid_due=START + timedelta(days=60), principal_outstanding=Decimal("2000.00"))
        loan.installments = [
            Installment(number=n, due_date=START + timedelta(days=30 * n), principal_due=Decimal("1000.00"),
                        interest_due=Decimal("30.00"),
                        principal_paid=Decimal("1000.00") if n == 1 else Decimal("0.00"),
                        interest_paid=Decimal("30.00") if n == 1 else Decimal("0.00"))
            for n in (1, 2, 3)]
        db.session.add(loan)
        db.session.flush()
        db.session.add(Payment(source=PaymentSource.MPESA, receipt=f"RC{customer.id:04d}{k:05d}",
                               amount=Decimal("1030.00"), customer_id=customer.id, loan_id=loan.id,
                               status=PaymentStatus.APPLIED))
        db.session.add(Interaction(loan_id=loan.id, kind=InteractionKind.CALLING, disposition_code="promise_to_pay",
                                   comment=f"Call {k}", promise_amount=Decimal("500.00"),
                                   promise_date=business_today() + timedelta(days=3),
                                   promise_status=PromiseStatus.PENDING, created_by_id=authors[k % len(authors)].id))
        db.session.add(CustomerDocument(customer_id=customer.id, kind=DocumentKind.PASSPORT, filename=f"doc{k}.pdf",
                                        content_type="application/pdf", size_bytes=2048, storage_key="0" * 64,
                                        uploaded_by_id=authors[k % len(authors)].id))
    db.session.commit()


@pytest.fixture
def agents(make_user):
    return [make_user(Role.CALLING_AGENT, first_name=f"Agent{n}", last_name="Caller") for n in range(3)]


@pytest.fixture
def customer(agents):
    customer = CustomerFactory(name="Wanjiku Kamau", location="Gikomba")
    seed(customer, 2, agents)
    return customer


MARKERS = {"profile": "Account number", "loans": "days past due", "repayments": "RC", "interactions": "Promised",
           "documents": "doc1.pdf"}


@pytest.mark.parametrize("tab", TABS)
def test_a_full_page_load_with_tab_renders_that_tab(client, login_as, customer, tab):
    login_as(Role.LOAN_OFFICER)

    response = client.get(f"/portal/customers/{customer.id}?tab={tab}")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" in html and MARKERS[tab] in html
    assert f'id="tab-{tab}-link" href="/portal/customers/{customer.id}?tab={tab}" role="tab"' in html
    assert f'class="tab-pane show active" id="tab-{tab}"' in html
    for other in set(TABS) - {tab}:
        assert f'hx-get="/portal/customers/{customer.id}?tab={other}"' in html
    assert 'hx-push-url="true"' in html


@pytest.mark.parametrize("tab", TABS)
def test_an_htmx_tab_load_answers_the_pane_alone(client, login_as, customer, tab):
    login_as(Role.LOAN_OFFICER)

    response = client.get(f"/portal/customers/{customer.id}?tab={tab}", headers=HX)

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in html and 'role="tablist"' not in html
    assert MARKERS[tab] in html
    assert "HX-Request" in response.headers["Vary"]


@pytest.mark.parametrize("tab", TABS)
def test_each_tab_runs_the_same_number_of_queries_for_5_or_50_rows(client, login_as, agents, tab):
    login_as(Role.ADMIN)
    few, many = CustomerFactory(), CustomerFactory()
    seed(few, 5, agents)
    seed(many, 50, agents)

    queries = {}
    for customer_id in (few.id, many.id):
        def load(customer_id=customer_id):
            assert client.get(f"/portal/customers/{customer_id}?tab={tab}", headers=HX).status_code == 200
        queries[customer_id] = statements_sent(load)

    assert len(queries[few.id]) == len(queries[many.id]), queries[many.id]
    assert len(queries[many.id]) <= 6  # sign-in, the customer, then at most a count and three fetches


def test_the_loans_tab_shows_each_schedule_with_arrears(client, login_as, customer):
    customer.assigned_officer_id = login_as(Role.COLLECTION_OFFICER).id
    db.session.commit()

    html = client.get(f"/portal/customers/{customer.id}?tab=loans", headers=HX).get_data(as_text=True)

    assert html.count('data-testid="loan"') == 2
    assert html.count('data-testid="installment"') == 6
    assert "15 days past due" in html  # the second installment fell due 15 days ago
    assert html.count(">paid</span>") == 2 and html.count(">overdue</span>") == 2
    assert html.count(">pending</span>") == 2
    assert "KES 2,060.00" in html  # owed on each loan; of which in arrears:
    assert "KES 1,030.00" in html


def test_the_interactions_tab_shows_promises_their_status_and_the_author(client, login_as, customer, agents):
    customer.created_by_id = login_as(Role.MANAGER).id
    db.session.commit()
    loan = db.session.scalars(db.select(Loan).where(Loan.customer_id == customer.id)).first()
    hidden = db.session.scalars(db.select(Interaction).where(Interaction.loan_id == loan.id)).first()
    hidden.deleted_at = datetime.now(UTC)
    db.session.commit()

    html = client.get(f"/portal/customers/{customer.id}?tab=interactions", headers=HX).get_data(as_text=True)

    assert html.count('data-testid="interaction"') == 1
    assert "Promised KES 500.00" in html and 'data-testid="promise-status">pending' in html
    assert "Promise to pay" in html and "by Agent1 Caller" in html
    assert hidden.comment not in html


def test_the_repayments_tab_lists_only_this_customers_payments(client, login_as, customer, agents):
    other = CustomerFactory()
    seed(other, 1, agents)
    login_as(Role.LOAN_OFFICER)

    html = client.get(f"/portal/customers/{customer.id}?tab=repayments", headers=HX).get_data(as_text=True)

    assert html.count('data-testid="payment"') == 2
    assert f"RC{other.id:04d}" not in html and "KES 1,030.00" in html


def test_tab_pages_link_back_into_their_pane(client, login_as, agents):
    login_as(Role.ADMIN)
    customer = CustomerFactory()
    seed(customer, 30, agents)

    html = client.get(f"/portal/customers/{customer.id}?tab=interactions&page=2").get_data(as_text=True)

    assert html.count('data-testid="interaction"') == 5 and "Page 2 of 2" in html
    assert f'hx-get="/portal/customers/{customer.id}?tab=interactions&amp;page=1" hx-target="#tab-interactions"' in html


def test_an_unknown_tab_is_a_404(client, login_as, customer):
    login_as(Role.ADMIN)
    assert client.get(f"/portal/customers/{customer.id}?tab=secrets").status_code == 404


@pytest.mark.parametrize("tab", TABS)
def test_tabs_of_a_customer_not_visible_are_403(client, login_as, make_user, customer, tab):
    customer.assigned_officer_id = make_user(Role.COLLECTION_OFFICER).id
    db.session.commit()
    login_as(Role.COLLECTION_OFFICER)

    assert client.get(f"/portal/customers/{customer.id}?tab={tab}", headers=HX).status_code == 403


def _upload(client, csrf_token, customer, data=PNG, filename="front.png", doc_type="national_id"):
    token = csrf_token(f"/portal/customers/{customer.id}?tab=documents")
    return client.post(f"/portal/customers/{customer.id}/documents", headers=HX,
                       data={"csrf_token": token, "doc_type": doc_type, "file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def test_uploading_a_document_from_its_tab_then_downloading_it(client, csrf_token, login_as, customer):
    login_as(Role.LOAN_OFFICER)

    response = _upload(client, csrf_token, customer)

    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert "front.png uploaded." in html and html.count('data-testid="document"') == 3
    document = db.session.scalars(db.select(CustomerDocument).where(CustomerDocument.filename == "front.png")).one()
    download = client.get(f"/portal/customers/{customer.id}/documents/{document.id}")
    assert download.status_code == 200 and download.data == PNG
    assert download.mimetype == "image/png"
    assert download.headers["Content-Disposition"] == "attachment; filename=front.png"
    assert download.headers["X-Content-Type-Options"] == "nosniff"


def test_a_refused_upload_shows_the_error_beside_the_field(client, csrf_token, login_as, customer):
    login_as(Role.LOAN_OFFICER)

    response = _upload(client, csrf_token, customer, data=b"MZ\x90\x00" + b"\x00" * 40, filename="id.png")

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'aria-invalid="true"' in html and "Upload a JPEG, PNG or PDF file." in html


def test_documents_of_a_customer_not_visible_cannot_be_uploaded_or_read(client, csrf_token, login_as, make_user,
                                                                         customer):
    customer.assigned_officer_id = make_user(Role.COLLECTION_OFFICER).id
    db.session.commit()
    document = db.session.scalars(db.select(CustomerDocument).where(
        CustomerDocument.customer_id == customer.id)).first()
    login_as(Role.COLLECTION_OFFICER)

    token = csrf_token("/portal/customers/")
    response = client.post(f"/portal/customers/{customer.id}/documents", headers=HX,
                           data={"csrf_token": token, "doc_type": "passport", "file": (io.BytesIO(PNG), "a.png")},
                           content_type="multipart/form-data")
    assert response.status_code == 403
    assert client.get(f"/portal/customers/{customer.id}/documents/{document.id}").status_code == 403


def test_export_buttons_carry_the_current_filters(client, login_as, customer):
    login_as(Role.LOAN_OFFICER)

    html = client.get("/portal/customers/?location=gikomba&kyc_status=&page=1", headers=HX).get_data(as_text=True)

    assert 'href="/portal/customers/export/csv?location=gikomba&amp;kyc_status="' in html
    assert 'href="/portal/customers/export/excel?location=gikomba&amp;kyc_status="' in html


@pytest.mark.parametrize("fmt", ["csv", "excel"])
def test_export_streams_the_filtered_list(client, login_as, customer, fmt):
    CustomerFactory(name="Baraka Juma", location="Kibera")
    login_as(Role.LOAN_OFFICER)

    response = client.get(f"/portal/customers/export/{fmt}?location=gikomba&has_documents=yes")

    assert response.status_code == 200 and response.is_streamed
    assert response.headers["Content-Disposition"].startswith("attachment; filename=customers-")
    if fmt == "csv":
        lines = response.get_data(as_text=True).split("\r\n")
        names = [line.split(",")[3] for line in lines[1:-1]]
    else:
        sheet = load_workbook(io.BytesIO(response.data), read_only=True)["Customers"]
        names = [row[3] for row in list(sheet.iter_rows(values_only=True))[1:]]
    assert names == ["Wanjiku Kamau"]


def test_a_collection_officer_exports_only_their_customers(client, login_as, customer):
    officer = login_as(Role.COLLECTION_OFFICER)
    CustomerFactory(name="Mine Wanjiru", assigned_officer_id=officer.id)

    lines = client.get("/portal/customers/export/csv").get_data(as_text=True).split("\r\n")

    assert [line.split(",")[3] for line in lines[1:-1]] == ["Mine Wanjiru"]
