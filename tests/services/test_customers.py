"""customers service: validation, codes, account numbers, updates, deletes and officer assignment."""

import re
from datetime import date

import pytest

from portal.models import Customer, Role
from portal.services import customers
from portal.services.errors import Forbidden, ValidationFailed
from tests.dates import business_today


def _years_ago(years: int, days: int = 0) -> date:
    today = business_today()  # the day the app checks ages against
    try:
        then = today.replace(year=today.year - years)
    except ValueError:  # 29 February
        then = today.replace(year=today.year - years, day=28)
    return date.fromordinal(then.toordinal() + days)


@pytest.fixture
def lo(make_user):
    return make_user(Role.LOAN_OFFICER)


@pytest.fixture
def admin(make_user):
    return make_user(Role.ADMIN)


# --- validation -------------------------------------------------------------------------------------------


def test_create_without_name_is_refused_on_name(lo):
    with pytest.raises(ValidationFailed) as exc:
        customers.create({"phone": "0712345678"}, actor=lo)
    assert list(exc.value.errors) == ["name"]


def test_create_with_blank_name_is_refused_on_name(lo):
    with pytest.raises(ValidationFailed) as exc:
        customers.create({"name": "   "}, actor=lo)
    assert "name" in exc.value.errors


def test_create_reports_every_bad_field_at_once(lo, customer_count):
    before = customer_count()
    with pytest.raises(ValidationFailed) as exc:
        customers.create({
            "phone": "12",
            "email": "not-an-email",
            "date_of_birth": "31/12/1990",
            "national_id": "12",
            "pincode": "!!",
            "customer_code": "abc",
        }, actor=lo)
    errors = exc.value.errors
    assert set(errors) == {"name", "phone", "email", "date_of_birth", "national_id", "pincode", "customer_code"}
    for field, messages in errors.items():
        assert messages and all(isinstance(m, str) and m for m in messages), field
    assert "YYYY-MM-DD" in errors["date_of_birth"][0]
    assert customer_count() == before


@pytest.mark.parametrize("dob", [_years_ago(17), _years_ago(18, days=1), _years_ago(5)])
def test_create_refuses_a_customer_under_18(lo, dob):
    with pytest.raises(ValidationFailed) as exc:
        customers.create({"name": "Young Person", "date_of_birth": dob.isoformat()}, actor=lo)
    assert list(exc.value.errors) == ["date_of_birth"]
    assert "18" in exc.value.errors["date_of_birth"][0]


def test_create_accepts_a_customer_who_turned_18_today(lo):
    dob = _years_ago(18)
    customer = customers.create({"name": "Birthday Person", "date_of_birth": dob.isoformat()}, actor=lo)
    assert customer.date_of_birth == dob


@pytest.mark.parametrize("national_id", ["1234", "12 34", "A" * 21, "12#456"])
def test_create_refuses_a_malformed_national_id(lo, national_id):
    with pytest.raises(ValidationFailed) as exc:
        customers.create({"name": "Jane Doe", "national_id": national_id}, actor=lo)
    assert list(exc.value.errors) == ["national_id"]


# --- customer codes -------------------------------------------------------------------------------------


@pytest.mark.parametrize("values", [{"customer_code": None}, {"customer_code": ""}, {"customer_code": "  "}, {}],
                         ids=["none", "empty", "blank", "omitted"])
def test_create_generates_an_8_character_code_when_none_is_given(lo, values):
    customer = customers.create({"name": "Jane Doe", **values}, actor=lo)
    assert re.fullmatch(r"[A-Z0-9]{8}", customer.customer_code)


def test_generated_codes_differ(lo):
    a = customers.create({"name": "Jane Doe"}, actor=lo)
    b = customers.create({"name": "Jane Doe"}, actor=lo)
    assert a.customer_code != b.customer_code


def test_given_code_is_upper_cased(lo):
    customer = customers.create({"name": "Jane Doe", "customer_code": "abcd1234"}, actor=lo)
    assert customer.customer_code == "ABCD1234"


@pytest.mark.parametrize("second", ["ABCD1234", "abcd1234"])
def test_given_code_must_be_unique(lo, customer_count, second):
    customers.create({"name": "Jane Doe", "customer_code": "ABCD1234"}, actor=lo)
    before = customer_count()
    with pytest.raises(ValidationFailed) as exc:
        customers.create({"name": "John Doe", "customer_code": second}, actor=lo)
    assert list(exc.value.errors) == ["customer_code"]
    assert customer_count() == before


# --- account numbers ------------------------------------------------------------------------------------


def test_account_number_is_first_name_lowercased_plus_national_id(lo):
    customer = customers.create({"name": "John Kamau", "national_id": "1234567"}, actor=lo)
    assert customer.account_number == "john1234567"


def test_two_customers_with_same_first_name_and_id_get_distinct_account_numbers(lo):
    first = customers.create({"name": "John Kamau", "national_id": "1234567"}, actor=lo)
    second = customers.create({"name": "John Otieno", "national_id": "1234567"}, actor=lo)
    third = customers.create({"name": "john mwangi", "national_id": "1234567"}, actor=lo)
    assert (first.account_number, second.account_number, third.account_number) == \
        ("john1234567", "john1234567-2", "john1234567-3")


def test_account_number_without_national_id_uses_the_customer_code(lo):
    customer = customers.create({"name": "Mary Wanjiru", "customer_code": "ZX12CV34"}, actor=lo)
    assert customer.account_number == "maryzx12cv34"


# --- phones ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "stored"), [
    ("0712345678", "+254712345678"),
    ("254712345678", "+254712345678"),
    ("+254712345678", "+254712345678"),
    ("+91-9876543210", "+919876543210"),
])
def test_create_stores_the_phone_in_e164(lo, raw, stored):
    customer = customers.create({"name": "Jane Doe", "phone": raw}, actor=lo)
    assert customer.phone == stored


# --- update ---------------------------------------------------------------------------------------------


def test_update_is_partial(lo):
    customer = customers.create({"name": "Jane Doe", "phone": "0712345678", "email": "jane@example.co.ke",
                                 "location": "Gikomba"}, actor=lo)
    customers.update(customer, {"location": "Toi Market"}, actor=lo)
    assert (customer.name, customer.phone, customer.email, customer.location) == \
        ("Jane Doe", "+254712345678", "jane@example.co.ke", "Toi Market")


def test_partial_update_cannot_blank_the_name(lo):
    customer = customers.create({"name": "Jane Doe"}, actor=lo)
    with pytest.raises(ValidationFailed) as exc:
        customers.update(customer, {"name": ""}, actor=lo)
    assert list(exc.value.errors) == ["name"]
    assert customer.name == "Jane Doe"


def test_replace_update_requires_the_name(lo):
    customer = customers.create({"name": "Jane Doe"}, actor=lo)
    with pytest.raises(ValidationFailed) as exc:
        customers.update(customer, {"location": "Toi Market"}, actor=lo, replace=True)
    assert list(exc.value.errors) == ["name"]
    assert customer.location is None


def test_replace_update_with_name_succeeds(lo):
    customer = customers.create({"name": "Jane Doe"}, actor=lo)
    customers.update(customer, {"name": "Jane Atieno", "location": "Toi Market"}, actor=lo, replace=True)
    assert (customer.name, customer.location) == ("Jane Atieno", "Toi Market")


def test_update_validates_like_create(lo):
    customer = customers.create({"name": "Jane Doe", "phone": "0712345678"}, actor=lo)
    with pytest.raises(ValidationFailed) as exc:
        customers.update(customer, {"phone": "12", "email": "nope"}, actor=lo)
    assert set(exc.value.errors) == {"phone", "email"}
    assert customer.phone == "+254712345678"


def test_update_to_a_code_another_customer_has_is_refused(lo):
    customers.create({"name": "Jane Doe", "customer_code": "AAAA1111"}, actor=lo)
    other = customers.create({"name": "John Doe", "customer_code": "BBBB2222"}, actor=lo)
    with pytest.raises(ValidationFailed) as exc:
        customers.update(other, {"customer_code": "aaaa1111"}, actor=lo)
    assert list(exc.value.errors) == ["customer_code"]


def test_update_keeping_own_code_is_allowed(lo):
    customer = customers.create({"name": "Jane Doe", "customer_code": "AAAA1111"}, actor=lo)
    customers.update(customer, {"customer_code": "AAAA1111", "location": "Kibera"}, actor=lo)
    assert customer.location == "Kibera"


def test_update_records_before_and_after_in_the_audit_trail(lo, audit_rows):
    customer = customers.create({"name": "Jane Doe", "location": "Gikomba"}, actor=lo)
    customers.update(customer, {"location": "Toi Market"}, actor=lo)
    rows = audit_rows("customer.update", customer.id)
    assert len(rows) == 1
    row = rows[0]
    assert row.actor_id == lo.id
    assert row.entity_type == "customer"
    assert row.before["location"] == "Gikomba"
    assert row.after["location"] == "Toi Market"
    assert row.before["name"] == row.after["name"] == "Jane Doe"


def test_update_that_changes_nothing_writes_no_audit_row(lo, audit_rows):
    customer = customers.create({"name": "Jane Doe", "location": "Gikomba", "phone": "+254712345678"}, actor=lo)
    customers.update(customer, {"name": " Jane Doe ", "location": "Gikomba", "phone": "0712 345 678"}, actor=lo)
    customers.update(customer, {}, actor=lo)
    assert audit_rows("customer.update", customer.id) == []


def test_create_writes_an_audit_row(lo, audit_rows):
    customer = customers.create({"name": "Jane Doe", "national_id": "1234567"}, actor=lo)
    rows = audit_rows("customer.create", customer.id)
    assert len(rows) == 1
    assert rows[0].after["account_number"] == "jane1234567"
    assert rows[0].before is None


# --- delete ---------------------------------------------------------------------------------------------


def test_admin_deletes_a_customer_and_the_deletion_is_audited(admin, lo, audit_rows, db):
    customer = customers.create({"name": "Jane Doe", "customer_code": "DDDD4444"}, actor=lo)
    customer_id = customer.id
    customers.delete(customer, actor=admin)
    assert db.session.get(Customer, customer_id) is None
    rows = audit_rows("customer.delete", customer_id)
    assert len(rows) == 1
    assert rows[0].actor_id == admin.id
    assert rows[0].before["customer_code"] == "DDDD4444"
    assert rows[0].after is None


@pytest.mark.parametrize("role", [Role.MANAGER, Role.LOAN_OFFICER, Role.COLLECTION_OFFICER, Role.CALLING_AGENT,
                                  Role.BORROWER])
def test_only_admin_may_delete_a_customer(make_user, make_customer, audit_rows, db, role):
    actor = make_user(role)
    customer = make_customer(assigned_officer=actor if role == Role.COLLECTION_OFFICER else None,
                             created_by=actor, user=actor if role == Role.BORROWER else None)
    with pytest.raises(Forbidden):
        customers.delete(customer, actor=actor)
    assert db.session.get(Customer, customer.id) is customer
    assert audit_rows("customer.delete") == []


def test_inactive_admin_may_not_delete(make_user, make_customer):
    admin = make_user(Role.ADMIN, is_active=False)
    with pytest.raises(Forbidden):
        customers.delete(make_customer(), actor=admin)


@pytest.mark.parametrize("role", [Role.CALLING_AGENT, Role.BORROWER])
def test_read_only_roles_may_not_create_customers(make_user, role):
    with pytest.raises(Forbidden):
        customers.create({"name": "Jane Doe"}, actor=make_user(role))


# --- assignment -----------------------------------------------------------------------------------------


def test_collection_officer_creating_a_customer_gets_it_assigned(team):
    customer = customers.create({"name": "Jane Doe"}, actor=team.collector)
    assert customer.assigned_officer_id == team.collector.id
    assert customer.created_by_id == team.collector.id


def test_collection_officer_may_assign_to_themselves_explicitly(team):
    customer = customers.create({"name": "Jane Doe", "assigned_officer_id": str(team.collector.id)},
                                actor=team.collector)
    assert customer.assigned_officer_id == team.collector.id


def test_collection_officer_cannot_assign_to_another_officer(team, make_user, customer_count):
    colleague = make_user(Role.COLLECTION_OFFICER, manager_id=team.manager.id)
    before = customer_count()
    with pytest.raises(ValidationFailed) as exc:
        customers.create({"name": "Jane Doe", "assigned_officer_id": colleague.id}, actor=team.collector)
    assert list(exc.value.errors) == ["assigned_officer_id"]
    assert customer_count() == before


def test_manager_can_assign_to_a_collection_officer_in_their_team(team):
    customer = customers.create({"name": "Jane Doe", "assigned_officer_id": team.collector.id}, actor=team.manager)
    assert customer.assigned_officer_id == team.collector.id


def test_manager_cannot_assign_to_another_teams_collection_officer(team, other_team):
    with pytest.raises(ValidationFailed) as exc:
        customers.create({"name": "Jane Doe", "assigned_officer_id": other_team.collector.id}, actor=team.manager)
    assert list(exc.value.errors) == ["assigned_officer_id"]


def test_manager_cannot_assign_to_an_officer_without_a_manager(team, make_user):
    loner = make_user(Role.COLLECTION_OFFICER)
    with pytest.raises(ValidationFailed) as exc:
        customers.create({"name": "Jane Doe", "assigned_officer_id": loner.id}, actor=team.manager)
    assert list(exc.value.errors) == ["assigned_officer_id"]


def test_loan_officer_may_choose_any_active_collection_officer_on_create(team, other_team, make_user):
    loner = make_user(Role.COLLECTION_OFFICER)
    for officer in (other_team.collector, loner):
        customer = customers.create({"name": "Jane Doe", "assigned_officer_id": officer.id}, actor=team.loan_officer)
        assert customer.assigned_officer_id == officer.id


def test_loan_officer_creating_without_an_officer_leaves_it_unassigned(team):
    customer = customers.create({"name": "Jane Doe"}, actor=team.loan_officer)
    assert customer.assigned_officer_id is None


@pytest.mark.parametrize("role", [Role.ADMIN, Role.MANAGER, Role.LOAN_OFFICER, Role.CALLING_AGENT, Role.BORROWER])
def test_assigning_to_a_non_collection_officer_fails(make_user, admin, role):
    target = make_user(role)
    with pytest.raises(ValidationFailed) as exc:
        customers.create({"name": "Jane Doe", "assigned_officer_id": target.id}, actor=admin)
    assert list(exc.value.errors) == ["assigned_officer_id"]


def test_assigning_to_an_inactive_collection_officer_fails(make_user, admin):
    retired = make_user(Role.COLLECTION_OFFICER, is_active=False)
    with pytest.raises(ValidationFailed) as exc:
        customers.create({"name": "Jane Doe", "assigned_officer_id": retired.id}, actor=admin)
    assert list(exc.value.errors) == ["assigned_officer_id"]


@pytest.mark.parametrize("raw", [999_999_999, "abc"])
def test_assigning_to_an_unknown_or_malformed_officer_id_fails(admin, raw):
    with pytest.raises(ValidationFailed) as exc:
        customers.create({"name": "Jane Doe", "assigned_officer_id": raw}, actor=admin)
    assert list(exc.value.errors) == ["assigned_officer_id"]


def test_manager_can_reassign_within_their_team(team, make_user, make_customer):
    second = make_user(Role.COLLECTION_OFFICER, manager_id=team.manager.id)
    customer = make_customer(assigned_officer=team.collector, created_by=team.loan_officer)
    customers.update(customer, {"assigned_officer_id": second.id}, actor=team.manager)
    assert customer.assigned_officer_id == second.id


def test_manager_can_unassign(team, make_customer):
    customer = make_customer(assigned_officer=team.collector)
    customers.update(customer, {"assigned_officer_id": None}, actor=team.manager)
    assert customer.assigned_officer_id is None


def test_admin_can_reassign_to_any_collection_officer(admin, team, other_team, make_customer):
    customer = make_customer(assigned_officer=team.collector)
    customers.update(customer, {"assigned_officer_id": other_team.collector.id}, actor=admin)
    assert customer.assigned_officer_id == other_team.collector.id


def test_loan_officer_cannot_reassign_on_update(team, other_team, make_customer):
    customer = make_customer(assigned_officer=team.collector)
    with pytest.raises(ValidationFailed) as exc:
        customers.update(customer, {"assigned_officer_id": other_team.collector.id}, actor=team.loan_officer)
    assert list(exc.value.errors) == ["assigned_officer_id"]
    assert customer.assigned_officer_id == team.collector.id


def test_loan_officer_cannot_assign_an_unassigned_customer_on_update(team, make_customer):
    customer = make_customer()
    with pytest.raises(ValidationFailed):
        customers.update(customer, {"assigned_officer_id": team.collector.id}, actor=team.loan_officer)
    assert customer.assigned_officer_id is None


def test_loan_officer_cannot_unassign_on_update(team, make_customer):
    customer = make_customer(assigned_officer=team.collector)
    with pytest.raises(ValidationFailed):
        customers.update(customer, {"assigned_officer_id": None}, actor=team.loan_officer)
    assert customer.assigned_officer_id == team.collector.id


def test_collection_officer_cannot_hand_their_customer_to_a_colleague(team, make_user, make_customer):
    colleague = make_user(Role.COLLECTION_OFFICER, manager_id=team.manager.id)
    customer = make_customer(assigned_officer=team.collector)
    with pytest.raises(ValidationFailed):
        customers.update(customer, {"assigned_officer_id": colleague.id}, actor=team.collector)
    assert customer.assigned_officer_id == team.collector.id


def test_update_resending_the_current_officer_is_not_a_reassignment(team, make_customer):
    customer = make_customer(assigned_officer=team.collector)
    customers.update(customer, {"assigned_officer_id": team.collector.id, "location": "Kangemi"},
                     actor=team.loan_officer)
    assert customer.location == "Kangemi"


def test_collection_officer_cannot_update_a_customer_not_assigned_to_them(team, other_team, make_customer):
    customer = make_customer(assigned_officer=other_team.collector)
    with pytest.raises(Forbidden):
        customers.update(customer, {"location": "Kangemi"}, actor=team.collector)
    assert customer.location is None
