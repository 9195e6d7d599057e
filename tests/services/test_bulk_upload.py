"""Bulk CSV uploads: file-level refusals, every row cleaned by the single-create rules, bulk lookups and
inserts, one audit row per batch; the staged import's chunks; and the fast paths the speed relies on."""

import io
import os
import random
import re
import time
from datetime import date, timedelta
from decimal import Decimal

import phonenumbers
import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import event, func, select
from werkzeug.datastructures import FileStorage

from portal.models import (
    Customer,
    Interaction,
    InteractionKind,
    PromiseStatus,
    Role,
)
from portal.models.base import db
from portal.services import bulk_upload, customers, phones, staged_uploads, users
from portal.services.bulk_upload import Kind
from portal.services.errors import FileRejected, Forbidden, NotFound, ValidationFailed
from tests.factories import CustomerFactory, LoanFactory

HEADER = "customer_code,name,phone,email,address_line_1,address_line_2,city,state,pincode,date_of_birth"
TOMORROW = (date.today() + timedelta(days=1)).isoformat()


def csv_file(text: str | bytes, filename: str = "customers.csv") -> FileStorage:
    data = text.encode() if isinstance(text, str) else text
    return FileStorage(stream=io.BytesIO(data), filename=filename)


def upload_customers(text, actor, **kw) -> bulk_upload.Result:
    return bulk_upload.upload(csv_file(text, **kw), Kind.CUSTOMERS, actor=actor)


def by_name(name: str) -> Customer:
    return db.session.scalars(select(Customer).where(Customer.name == name)).one()


@pytest.fixture
def admin(make_user):
    return make_user(Role.ADMIN)


# -- the rule: valid rows are created, invalid rows reported ---------------------------------------------

def test_valid_rows_are_created_and_invalid_rows_reported_with_their_row_number(admin, audit_rows):
    result = upload_customers(f"""{HEADER}
,Amani Wekesa,0712 345 678,Amani@Example.co.ke,12 Moi Ave,,Nairobi,Nairobi,00100,1990-04-01
,Baraka Bad,12345,,,,,,,
,Chausiku Njeri,+254 733 123 456,,,,Kisumu,,,
""", admin)

    assert result.records_created == 2
    assert result.errors == [{"row": 2, "errors": {"phone": ["This is not a valid phone number for its country."]}}]
    amani = by_name("Amani Wekesa")
    assert (amani.phone, amani.email, amani.city, amani.date_of_birth) == (
        "+254712345678", "amani@example.co.ke", "Nairobi", date(1990, 4, 1))
    assert re.fullmatch(r"[A-Z0-9]{8}", amani.customer_code)
    assert amani.account_number == "amani" + amani.customer_code.lower()
    assert amani.created_by_id == admin.id and amani.assigned_officer_id is None
    assert by_name("Chausiku Njeri").phone == "+254733123456"
    assert not db.session.scalars(select(Customer).where(Customer.name == "Baraka Bad")).all()
    assert not audit_rows("customer.create")  # one row for the batch, not one per customer
    [batch] = audit_rows("customer.bulk_create")
    assert batch.actor_id == admin.id and batch.entity_type == "upload"
    assert batch.after["records_created"] == 2 and batch.after["rows_refused"] == 1
    assert batch.after["file"] == "customers.csv" and batch.after["rows"] == [1, 3]


def test_uploaded_customers_are_stored_as_a_single_create_stores_them(admin):
    single = customers.create({"name": "Imani Single", "phone": "0712 000 001", "date_of_birth": "1990-04-01"},
                              actor=admin)
    upload_customers("name,phone,date_of_birth\nImani Upload,0712 000 002,1990-04-01\n", admin)
    uploaded = by_name("Imani Upload")

    # The upload hands the driver values it converted itself: stored, they must be what the ORM stores.
    stored = db.session.execute(db.text("SELECT CAST(date_of_birth AS TEXT), kyc_status, kyc_level FROM customers "
                                        "WHERE id IN (:single, :uploaded)"),
                                {"single": single.id, "uploaded": uploaded.id}).all()
    assert stored == [("1990-04-01", "unverified", "tier_0")] * 2
    assert uploaded.created_at.tzinfo is not None
    assert db.session.scalar(select(Customer.id).where(Customer.created_at == uploaded.created_at)) == uploaded.id


def test_a_byte_order_mark_and_windows_line_endings_are_read(admin):
    text = f"\ufeff{HEADER}\r\n,Dalila Auma,0722000001,,,,,,,\r\n,Eli Kiptoo,0722000002,,,,,,,\r\n"
    assert upload_customers(text.encode("utf-8"), admin).records_created == 2
    assert by_name("Eli Kiptoo").phone == "+254722000002"


def test_blank_optional_cells_and_short_rows_are_empty_not_errors(admin):
    result = upload_customers("name,phone,email,date_of_birth,pincode\nFaraji Otieno,,,,\nGati Moraa\n", admin)
    assert result.errors == [] and result.records_created == 2
    faraji = by_name("Faraji Otieno")
    assert (faraji.phone, faraji.email, faraji.date_of_birth, faraji.pincode) == (None, None, None, None)


def test_header_names_ignore_case_spaces_and_dashes_and_blank_rows_are_skipped(admin):
    result = upload_customers(" Name ,PHONE,Date Of Birth,address-line-1\n\nHalima Chebet,0722000003,1985-02-03,"
                              "Plot 9\n,,,\nIsa Mutua,,,\n", admin)
    assert result.errors == [] and result.records_created == 2
    assert by_name("Halima Chebet").address_line_1 == "Plot 9"


def test_rows_are_numbered_from_the_first_row_under_the_header_counting_blank_ones(admin):
    result = upload_customers("name,phone\nJabari Ouma,0722000004\n\nK,0722000005\n", admin)
    assert result.errors == [{"row": 3, "errors": {"name": ["Enter the customer's full name."]}}]


@pytest.mark.parametrize(("value", "field"), [
    ("01/02/1990", "date_of_birth"), ("1990-13-01", "date_of_birth"), ("2020-01-01", "date_of_birth"),
    ("12345", "phone"), ("0712", "phone"), ("not-an-email", "email"), ("bad code!", "customer_code"),
    ("x" * 161, "name"), ("!!", "pincode"),
])
def test_each_row_gets_exactly_the_single_create_s_messages(admin, value, field):
    values = {"name": "Lulu Wanjiru", field: value}
    with pytest.raises(ValidationFailed) as single:
        customers.create(values, actor=admin)
    result = upload_customers(f"{','.join(values)}\n{','.join(values.values())}\n", admin)
    assert result.records_created == 0
    assert result.errors == [{"row": 1, "errors": single.value.errors}]


def test_a_row_with_more_cells_than_the_header_is_reported(admin):
    result = upload_customers("name,phone\nMakena Ali,0722000006,extra\nNuru Ali,0722000007,,\n", admin)
    assert result.records_created == 1
    assert result.errors == [{"row": 1, "errors": {"non_field_errors": [
        "This row has more cells than the header has columns."]}}]


# -- codes and account numbers ------------------------------------------------------------------------

def test_a_code_repeated_within_the_file_is_kept_by_its_first_row(admin):
    result = upload_customers("customer_code,name\nabcd1234,Omari One\nZZZZ0001,Pendo Two\nABCD1234,Rehema Three\n",
                              admin)
    assert result.records_created == 2
    assert result.errors == [{"row": 3, "errors": {"customer_code": ["Row 1 already has this code."]}}]
    assert by_name("Omari One").customer_code == "ABCD1234"


def test_a_code_another_customer_has_is_reported(admin):
    CustomerFactory(customer_code="TAKEN001")
    result = upload_customers("customer_code,name\ntaken001,Saida Four\n", admin)
    assert result.errors == [{"row": 1, "errors": {"customer_code": ["Another customer already has this code."]}}]


def test_generated_codes_avoid_codes_the_file_names_and_account_numbers_match_a_single_create(admin):
    CustomerFactory(account_number="tumaini12345678")
    result = upload_customers("name,national_id\nTumaini Kamau,12345678\nTumaini Otieno,12345678\nUmi Said,\n", admin)
    assert result.records_created == 3
    assert by_name("Tumaini Kamau").account_number == "tumaini12345678-2"
    assert by_name("Tumaini Otieno").account_number == "tumaini12345678-3"
    single = customers.create({"name": "Tumaini Were", "national_id": "12345678"}, actor=admin)
    assert single.account_number == "tumaini12345678-4"  # the bulk rows are what a single create sees next
    codes = [c.customer_code for c in db.session.scalars(select(Customer))]
    assert len(codes) == len(set(codes))


def test_generated_codes_are_retried_when_they_clash(admin, monkeypatch):
    CustomerFactory(customer_code="AAAAAAAA")
    draws = iter(["AAAAAAAA", "BBBBBBBB", "BBBBBBBB", "CCCCCCCC"])
    monkeypatch.setattr(customers, "random_code", lambda: next(draws))
    upload_customers("customer_code,name\nBBBBBBBB,Vumilia Given\n,Wema Drawn\n", admin)
    assert by_name("Wema Drawn").customer_code == "CCCCCCCC"


def test_random_codes_use_the_whole_alphabet():
    codes = {customers.random_code() for _ in range(2000)}
    assert all(re.fullmatch(r"[A-Z0-9]{8}", c) for c in codes) and len(codes) == 2000
    assert set("".join(codes)) == set(customers.CODE_ALPHABET)


# -- who may upload, and to whom the customers belong ----------------------------------------------------

def test_a_collection_officer_s_customers_are_assigned_to_them_as_in_a_single_create(make_user):
    officer = make_user(Role.COLLECTION_OFFICER)
    other = make_user(Role.COLLECTION_OFFICER)
    result = upload_customers(f"name,assigned_collection_officer\nXena Mine,\nYusuf Other,{other.id}\n", officer)
    assert by_name("Xena Mine").assigned_officer_id == officer.id
    assert result.errors == [{"row": 2, "errors": {"assigned_collection_officer": [
        "You can only assign customers to yourself."]}}]


@pytest.mark.parametrize("role", [Role.BORROWER, Role.CALLING_AGENT])
def test_roles_that_cannot_create_customers_cannot_upload_them(make_user, customer_count, role):
    with pytest.raises(Forbidden):
        upload_customers("name\nZuri Nope\n", make_user(role))
    assert customer_count() == 0


def test_an_officer_id_too_large_for_the_database_is_a_row_error_not_a_crash(admin):
    result = upload_customers("name,assigned_collection_officer\nAda Love,99999999999999999999\nBea Love,  \n", admin)
    assert result.records_created == 1
    assert result.errors == [{"row": 1, "errors": {"assigned_collection_officer": [
        "Choose an active collection officer."]}}]
    with pytest.raises(ValidationFailed):
        customers.create({"name": "Cea Love", "assigned_officer_id": 10**20}, actor=admin)


# -- file-level refusals: nothing is written ------------------------------------------------------------

@pytest.mark.parametrize(("data", "filename", "message"), [
    (b"", "empty.csv", "The file is empty."),
    (b"name,phone\n", "header.csv", "The file has a header but no rows."),
    (b"name\nAda Lovelace\n", "customers.xlsx", "Upload a .csv file"),
    (b"PK\x03\x04\x14\x00\x06\x00", "renamed.csv", "spreadsheet workbook"),
    (b"n\x00a\x00m\x00e\x00", "utf16.csv", "binary data"),
    ("name\nJosé Martí\n".encode("latin-1"), "latin1.csv", "not UTF-8 text (line 2)"),
    (b"name,phon\nAda Lovelace,0712345678\n", "typo.csv", "Unknown columns: phon. The columns are: customer_code"),
    (b"phone\n0712345678\n", "noname.csv", "must include the columns: name"),
    (b"name,phone,name\nA,B,C\n", "twice.csv", "appear more than once: name"),
    (b"name,,phone\nAda,,0712345678\n", "gap.csv", "Column 2 has no name"),
    (b'name\n"Ada\n', "quote.csv", "not valid CSV"),
])
def test_a_file_that_breaks_a_file_level_rule_is_refused_whole(admin, customer_count, audit_rows, data, filename,
                                                               message):
    with pytest.raises(FileRejected, match=re.escape(message)):
        upload_customers(data, admin, filename=filename)
    assert customer_count() == 0 and not audit_rows("customer.bulk_create")


def test_no_file_is_refused(admin):
    with pytest.raises(FileRejected, match="No file provided"):
        bulk_upload.upload(None, Kind.CUSTOMERS, actor=admin)


def test_too_many_rows_is_refused_with_nothing_created(app, admin, customer_count, monkeypatch):
    monkeypatch.setitem(app.config, "BULK_UPLOAD_MAX_ROWS", 3)
    rows = "".join(f"Person {i} Test\n" for i in range(4))
    with pytest.raises(FileRejected, match="more than 3 rows"):
        upload_customers("name\n" + rows, admin)
    assert customer_count() == 0
    assert upload_customers("name\n" + rows.split("\n", 1)[1], admin).records_created == 3  # at the limit: fine


def test_a_file_over_the_size_limit_is_refused_having_read_no_more_than_the_limit(app, admin, customer_count,
                                                                                   monkeypatch):
    monkeypatch.setitem(app.config, "BULK_UPLOAD_MAX_BYTES", 1024)
    stream = io.BytesIO(b"name\n" + b"Person Test\n" * 1000)
    with pytest.raises(FileRejected, match="larger than"):
        bulk_upload.upload(FileStorage(stream=stream, filename="big.csv"), Kind.CUSTOMERS, actor=admin)
    assert stream.tell() == 1025 and customer_count() == 0
    with pytest.raises(FileRejected, match="larger than"):
        bulk_upload.check_size(1024 + 64 * 1024 + 1)
    bulk_upload.check_size(None)


# -- bulk, not per row ------------------------------------------------------------------------------

def _queries_to_upload(rows: int, actor) -> int:
    statements = []
    engine = db.session.connection().engine

    def count(conn, cursor, statement, *args):
        statements.append(statement)
    event.listen(engine, "before_cursor_execute", count)
    try:
        text = "name,phone,customer_code\n" + "".join(f"Mtu {i} Test,07220{i:05d},\n" for i in range(rows))
        assert upload_customers(text, actor).records_created == rows
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(statements)


def test_lookups_take_a_query_per_thousand_rows_not_one_per_row(admin):
    _queries_to_upload(1, admin)  # the actor's own row reloads once after the fixtures' commit
    assert _queries_to_upload(5, admin) == _queries_to_upload(400, admin)


# -- interactions --------------------------------------------------------------------------------------

@pytest.fixture
def field_setup(make_user):
    manager = make_user(Role.MANAGER)
    officer = make_user(Role.COLLECTION_OFFICER, manager_id=manager.id)
    other = make_user(Role.COLLECTION_OFFICER)
    mine = LoanFactory(customer=CustomerFactory(assigned_officer_id=officer.id), loan_number="LNBULK0001")
    theirs = LoanFactory(customer=CustomerFactory(assigned_officer_id=other.id), loan_number="LNBULK0002")
    return officer, mine, theirs


def upload_interactions(text: str, actor) -> bulk_upload.Result:
    return bulk_upload.upload(csv_file(text, "visits.csv"), Kind.INTERACTIONS, actor=actor)


def test_a_collection_officer_uploads_field_visits_for_loans_they_can_see(field_setup, audit_rows):
    officer, mine, theirs = field_setup
    result = upload_interactions(f"""loan_id,comment,disposition,next_call_date,interaction_type
{mine.id},Visited the stall,visited,{TOMORROW},
{mine.id},Promised Friday,promise_to_pay,,field
{theirs.id},Not mine,visited,,
999999,No such loan,visited,,
{mine.id},Phoned,called,,calling
{mine.id},Odd kind,visited,,email
{mine.id},Wrong date,visited,15/03/2030,
{mine.id},,nonsense,,
""", officer)
    assert result.records_created == 1
    assert result.errors == [
        {"row": 2, "errors": {"promise_amount": ["A promise to pay needs an amount and a date."],
                              "promise_date": ["A promise to pay needs an amount and a date."]}},
        {"row": 3, "errors": {"loan_id": ["This customer is not assigned to you."]}},
        {"row": 4, "errors": {"loan_id": ["Loan not found."]}},
        {"row": 5, "errors": {"interaction_type": ["You may not log calling interactions."]}},
        {"row": 6, "errors": {"interaction_type": ["Choose field or calling."]}},
        {"row": 7, "errors": {"next_call_date": ["Enter the date as YYYY-MM-DD."]}},
        {"row": 8, "errors": {"disposition": ["Choose a disposition from the list."]}},
    ]
    [visit] = db.session.scalars(select(Interaction)).all()
    assert (visit.loan_id, visit.kind, visit.comment, visit.disposition_code, visit.next_call_date,
            visit.created_by_id) == (mine.id, InteractionKind.FIELD, "Visited the stall", "visited",
                                     date.fromisoformat(TOMORROW), officer.id)
    assert not audit_rows("interaction.create")
    assert audit_rows("interaction.bulk_create")[0].after["records_created"] == 1


def test_a_promise_to_pay_with_its_amount_and_date_is_tracked(field_setup):
    officer, mine, _ = field_setup
    result = upload_interactions(f"loan_id,disposition,promise_amount,promise_date,contact_outcome\n"
                                 f"{mine.id},promise_to_pay,1500.50,{TOMORROW},right_party\n", officer)
    assert result.errors == []
    promise = db.session.scalars(select(Interaction)).one()
    assert (promise.promise_amount, promise.promise_status) == (Decimal("1500.50"), PromiseStatus.PENDING)


def test_uploaded_interactions_keep_their_amounts_and_coordinates(field_setup):
    officer, mine, _ = field_setup
    result = upload_interactions(f"loan_id,disposition,promise_amount,promise_date,latitude,longitude\n"
                                 f"{mine.id},promise_to_pay,1500.50,{TOMORROW},-1.286389,36.817223\n", officer)
    assert result.errors == []
    visit = db.session.scalars(select(Interaction)).one()
    assert (visit.promise_amount, visit.latitude, visit.longitude) == (
        Decimal("1500.50"), Decimal("-1.286389"), Decimal("36.817223"))


def test_a_calling_agent_uploads_calls_but_not_visits(field_setup, make_user):
    _, mine, theirs = field_setup
    agent = make_user(Role.CALLING_AGENT)
    result = upload_interactions(f"loan_id,disposition,interaction_type\n{mine.id},called,calling\n"
                                 f"{theirs.id},no_answer,Calling\n{mine.id},visited,\n", agent)
    assert result.records_created == 2
    assert result.errors == [{"row": 3, "errors": {"interaction_type": ["You may not log field interactions."]}}]


@pytest.mark.parametrize("role", [Role.LOAN_OFFICER, Role.BORROWER])
def test_roles_that_log_no_interactions_cannot_upload_them(make_user, field_setup, role):
    with pytest.raises(Forbidden):
        upload_interactions(f"loan_id,disposition\n{field_setup[1].id},visited\n", make_user(role))


def test_interaction_rows_need_a_loan_id_and_a_disposition_column(field_setup):
    with pytest.raises(FileRejected, match="disposition"):
        upload_interactions("loan_id,comment\n1,hello\n", field_setup[0])


# -- the portal's staged import ---------------------------------------------------------------------

def test_a_staged_file_imports_a_chunk_per_call_and_a_repeated_chunk_imports_nothing(app, admin, make_user,
                                                                                     monkeypatch, audit_rows):
    monkeypatch.setitem(app.config, "BULK_UPLOAD_CHUNK_ROWS", 2)
    text = "customer_code,name\nDUPE0001,Abla One\n,B\nDUPE0001,Chiku Three\n,Dede Four\n,Esi Five\n"
    staged = staged_uploads.stage(csv_file(text), Kind.CUSTOMERS, actor=admin)

    preview = staged_uploads.preview(staged.token, actor=admin)
    assert (preview.valid, [e["row"] for e in preview.errors]) == (3, [2, 3])
    assert [number for number, _ in preview.head] == [1, 2, 3, 4, 5]
    assert db.session.scalar(select(func.count()).select_from(Customer)) == 0  # a dry run

    first = staged_uploads.import_next(staged.token, 0, actor=admin)
    assert (first.position, first.created, first.refused, first.done) == (2, 1, 1, False)
    again = staged_uploads.import_next(staged.token, 0, actor=admin)
    assert (again.position, again.created) == (2, 1)
    while not (progress := staged_uploads.import_next(staged.token, first.position, actor=admin)).done:
        first = progress
    assert (progress.position, progress.created, progress.refused) == (5, 3, 2)
    assert [e["row"] for e in progress.errors] == [2, 3]
    assert progress.errors[1]["errors"] == {"customer_code": ["Row 1 already has this code."]}
    assert db.session.scalar(select(func.count()).select_from(Customer)) == 3
    assert len(audit_rows("customer.bulk_create")) == 3
    assert staged_uploads.import_next(staged.token, 5, actor=admin).created == 3

    with pytest.raises(NotFound, match="expired or was discarded"):
        staged_uploads.preview(staged.token, actor=make_user(Role.ADMIN))
    staged_uploads.discard(staged.token, actor=admin)
    with pytest.raises(NotFound, match="expired or was discarded"):
        staged_uploads.progress(staged.token, actor=admin)


@pytest.mark.parametrize("token", ["../../secret_key", "short", "a" * 22 + "/"])
def test_a_token_that_is_not_one_never_reaches_a_path(admin, token):
    with pytest.raises(NotFound, match="expired or was discarded"):
        staged_uploads.get(token, actor=admin)


def test_staging_sweeps_files_left_for_more_than_a_day_and_keeps_its_own_private(admin):
    old = staged_uploads.stage(csv_file("name\nAda Old\n"), Kind.CUSTOMERS, actor=admin)
    day_ago = time.time() - staged_uploads.KEEP_SECONDS - 1
    for path in staged_uploads._folder().glob(f"{old.token}*"):
        os.utime(path, (day_ago, day_ago))
    new = staged_uploads.stage(csv_file("name\nAda New\n"), Kind.CUSTOMERS, actor=admin)
    assert not list(staged_uploads._folder().glob(f"{old.token}*"))
    assert (staged_uploads._folder() / f"{new.token}.rows.jsonl").stat().st_mode & 0o777 == 0o600


def test_staging_refuses_a_bad_file_before_keeping_it(admin):
    with pytest.raises(FileRejected):
        staged_uploads.stage(csv_file("nom\nAda\n"), Kind.CUSTOMERS, actor=admin)


# -- the fast paths answer exactly as the libraries do ------------------------------------------------

def _general_phone(text: str) -> str | None:
    """phones.normalize's general path: phonenumbers' parser."""
    if re.fullmatch(r"254\d{9}|91\d{10}", re.sub(r"[\s-]", "", text)):
        text = "+" + text
    try:
        number = phonenumbers.parse(text, "KE")
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) \
        if phonenumbers.is_valid_number(number) else None


def _phone_samples() -> list[str]:
    rng = random.Random(4)
    samples = []
    for prefix in range(100, 1000):
        nsn = f"{prefix}{rng.randint(0, 999999):06d}"
        samples += [f"0{nsn}", f"+254{nsn}", f"254 {nsn[:3]} {nsn[3:]}", f"0{nsn[:3]}-{nsn[3:]}"]
        indian = f"{rng.randint(6, 9)}{prefix}{rng.randint(0, 999999):06d}"
        samples += [f"+91{indian}", f"91{indian}", f"+91-{indian}", f"0{indian}"]
    return samples


def test_the_common_phone_shapes_are_answered_exactly_as_phonenumbers_answers_them():
    answered = 0
    for text in _phone_samples():
        fast = phones._common_form(text, "KE")
        if fast is not None:
            answered += 1
            assert fast == _general_phone(text), text
        try:
            assert phones.normalize(text) == _general_phone(text), text
        except ValueError:
            assert _general_phone(text) is None, text
    assert answered > 1000  # the fast path is really taken


def _reference_email(raw: str) -> str | None:
    """clean_email before its fast path: the library for every address."""
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        return f"error: {exc}"


def _clean_email_or_error(raw: str) -> str | None:
    try:
        return users.clean_email(raw)
    except ValueError as exc:
        return f"error: {exc}"


TRICKY_EMAILS = [
    "Amani@Example.CO.KE", "a.b+tag@gmail.com", "a..b@gmail.com", ".a@gmail.com", "a.@gmail.com", "a@localhost",
    "a@example", "a@test", "a@mail.local", "a@-bad.com", "a@bad-.com", "a@ab--cd.com", "a@xn--80ak6aa92e.com",
    "a@müller.de", "ö@example.com", '"quoted"@example.com', "A <a@example.com>", "a@[192.168.0.1]", "a@b@c.com",
    "a@", "@example.com", "a@example.com.", "a@123.com", "a@example.123", "postmaster@Example.com",
    "x" * 64 + "@example.com", "x" * 65 + "@example.com", "x" * 240 + "@example.com", "a@" + "b" * 64 + ".com",
    "a@" + ".".join(["abcdefghi"] * 25) + ".com", "a!#$%&'*+/=?^_`{|}~-@example.com", " a@example.com ",
]


@pytest.mark.parametrize("address", TRICKY_EMAILS)
def test_clean_email_answers_as_the_library_does_for_tricky_addresses(address):
    assert _clean_email_or_error(address) == _reference_email(address)


@settings(max_examples=300, deadline=None)
@given(local=st.text(alphabet="aZ09._+-!'\"@ ü", min_size=0, max_size=70),
       domain=st.sampled_from(["gmail.com", "Example.CO.KE", "localhost", "a..b.com", "x-.com", "münchen.de",
                               "[1.2.3.4]", "b" * 64 + ".com", "mail.local", "ok.io", ""]))
def test_clean_email_answers_as_the_library_does(local, domain):
    address = f"{local}@{domain}"
    assert _clean_email_or_error(address) == _reference_email(address)
