"""Portal customer pages: list with search and filters, create with inline errors, edit, delete."""

from portal.models import Customer, Role
from portal.models.base import db
from tests.factories import CustomerFactory


def test_list_shows_only_the_collection_officers_customers(client, login_as):
    officer = login_as(Role.COLLECTION_OFFICER)
    CustomerFactory(name="Mine Wanjiru", assigned_officer_id=officer.id)
    CustomerFactory(name="Someone Else")
    html = client.get("/portal/customers/").get_data(as_text=True)
    assert "Mine Wanjiru" in html and "Someone Else" not in html


def test_active_search_returns_only_the_results_fragment(client, login_as):
    login_as(Role.CALLING_AGENT)
    CustomerFactory(name="Akinyi Otieno", phone="+254712345678")
    CustomerFactory(name="Baraka Juma")
    response = client.get("/portal/customers/?q=0712+345+678", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert "Akinyi Otieno" in html and "Baraka Juma" not in html
    assert "<html" not in html
    assert "HX-Request" in response.headers["Vary"]


def test_full_page_request_includes_the_layout(client, login_as):
    login_as(Role.CALLING_AGENT)
    assert "<html" in client.get("/portal/customers/?q=x").get_data(as_text=True)


def test_list_paginates(client, login_as):
    login_as(Role.ADMIN)
    for i in range(30):
        CustomerFactory(name=f"Customer {i:02d}")
    first = client.get("/portal/customers/?sort=name").get_data(as_text=True)
    second = client.get("/portal/customers/?sort=name&page=2").get_data(as_text=True)
    assert "Customer 00" in first and "Customer 29" not in first
    assert "Customer 29" in second and "Page 2 of 2" in second


def test_create_with_invalid_phone_shows_the_error_beside_the_field_then_succeeds(client, csrf_token, login_as):
    login_as(Role.LOAN_OFFICER)
    token = csrf_token("/portal/customers/new")
    form = {"name": "Zawadi Achieng", "phone": "12345", "csrf_token": token}
    response = client.post("/portal/customers/new", data=form, headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'aria-invalid="true"' in html and "phone number" in html
    assert "<html" not in html
    assert db.session.query(Customer).filter_by(name="Zawadi Achieng").count() == 0

    form["phone"] = "0712 345 678"
    response = client.post("/portal/customers/new", data=form, headers={"HX-Request": "true"})
    assert response.status_code == 204
    customer = db.session.query(Customer).filter_by(name="Zawadi Achieng").one()
    assert response.headers["HX-Redirect"].endswith(f"/portal/customers/{customer.id}")
    assert customer.phone == "+254712345678"


def test_calling_agents_cannot_open_the_create_form(client, login_as):
    login_as(Role.CALLING_AGENT)
    assert client.get("/portal/customers/new").status_code == 403


def test_edit_saves_changes_and_keeps_the_officer(client, csrf_token, login_as, make_user):
    officer = make_user(Role.COLLECTION_OFFICER)
    customer = CustomerFactory(name="Old Name", assigned_officer_id=officer.id)
    login_as(Role.LOAN_OFFICER)
    token = csrf_token(f"/portal/customers/{customer.id}/edit")
    response = client.post(f"/portal/customers/{customer.id}/edit",
                           data={"name": "New Name", "phone": customer.phone, "csrf_token": token})
    assert response.status_code == 303
    assert customer.name == "New Name"
    assert customer.assigned_officer_id == officer.id


def test_detail_of_another_officers_customer_is_forbidden(client, login_as, make_user):
    other = make_user(Role.COLLECTION_OFFICER)
    customer = CustomerFactory(assigned_officer_id=other.id)
    login_as(Role.COLLECTION_OFFICER)
    response = client.get(f"/portal/customers/{customer.id}")
    assert response.status_code == 403
    assert "not assigned to you" in response.get_data(as_text=True)


def test_delete_asks_for_confirmation_and_only_admins_may(client, csrf_token, login_as):
    customer = CustomerFactory(name="To Delete")
    customer_id = customer.id
    login_as(Role.LOAN_OFFICER)
    html = client.get(f"/portal/customers/{customer.id}").get_data(as_text=True)
    assert "hx-confirm" not in html

    login_as(Role.ADMIN)
    html = client.get(f"/portal/customers/{customer.id}").get_data(as_text=True)
    assert 'hx-confirm="Delete To Delete' in html
    token = csrf_token(f"/portal/customers/{customer.id}")
    response = client.post(f"/portal/customers/{customer.id}/delete", data={"csrf_token": token},
                           headers={"HX-Request": "true"})
    assert response.headers["HX-Redirect"].endswith("/portal/customers/")
    assert db.session.get(Customer, customer_id) is None


def test_unknown_page_is_an_html_404(client, login_as):
    login_as(Role.ADMIN)
    response = client.get("/portal/nowhere")
    assert response.status_code == 404
    assert response.content_type.startswith("text/html")


def test_deleting_a_customer_with_loans_is_refused_with_a_clear_message(client, csrf_token, login_as):
    from datetime import date
    from decimal import Decimal

    from portal.models import Frequency, InterestMethod, Loan

    customer = CustomerFactory(name="Has Loans")
    db.session.add(Loan(loan_number="LNTEST0001", customer_id=customer.id, principal=Decimal("1000.00"),
                        annual_rate=Decimal("10"), interest_method=InterestMethod.FLAT,
                        frequency=Frequency.MONTHLY, term_periods=3, application_date=date.today()))
    db.session.commit()
    login_as(Role.ADMIN)
    token = csrf_token(f"/portal/customers/{customer.id}")
    response = client.post(f"/portal/customers/{customer.id}/delete", data={"csrf_token": token},
                           headers={"HX-Request": "true"})
    assert response.status_code == 409
    assert "has loans, so their record cannot be deleted" in response.get_data(as_text=True)
    assert db.session.get(Customer, customer.id) is not None
