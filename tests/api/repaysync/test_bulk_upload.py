"""003 POST /api/customers/bulk/upload/ and /api/interactions/bulk/upload/: multipart field `file`,
{records_created, errors} with row numbers and field messages, 400 {"error": ...} for a file refused whole."""

import io

import pytest
from sqlalchemy import func, select

from portal.models import AuditLog, Customer, Interaction, Role
from portal.models.base import db
from tests.api.conftest import assert_error
from tests.factories import CustomerFactory, LoanFactory

CUSTOMERS = "/api/customers/bulk/upload/"
INTERACTIONS = "/api/interactions/bulk/upload/"
# 003 5.4's columns, in its order.
HEADER = "customer_code,name,phone,email,address_line_1,address_line_2,city,state,pincode,date_of_birth"


def post_file(client, path, headers, data: bytes | str, filename: str = "upload.csv", **kw):
    data = data.encode() if isinstance(data, str) else data
    return client.post(path, data={"file": (io.BytesIO(data), filename)}, headers=headers,
                       content_type="multipart/form-data", **kw)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_customers_csv_in_003_s_columns_creates_the_valid_rows_and_reports_the_others(client, admin_headers):
    response = post_file(client, CUSTOMERS, admin_headers, f"""{HEADER}
,John Doe,+91-9876543210,john@example.com,123 Main St,Apt 4B,Kolkata,WB,700001,1990-01-01
,Jane Roe,0712345678,,,,,,,
BULK0001,Bad Phone,12345,,,,,,,
,Bad Date,,,,,,,,01/01/1990
""")
    assert response.status_code == 201
    assert response.get_json() == {"records_created": 2, "errors": [
        {"row": 3, "errors": {"phone": ["This is not a valid phone number for its country."]}},
        {"row": 4, "errors": {"date_of_birth": ["Enter the date as YYYY-MM-DD."]}}]}
    john = db.session.scalars(select(Customer).where(Customer.name == "John Doe")).one()
    assert (john.phone, john.city, john.pincode) == ("+919876543210", "Kolkata", "700001")
    assert count(Customer) == 2


def test_duplicate_codes_in_the_file_and_in_the_database_are_reported_per_row(client, admin_headers):
    CustomerFactory(customer_code="EXIST001")
    response = post_file(client, CUSTOMERS, admin_headers,
                         "customer_code,name\nNEW00001,Ama One\nexist001,Ama Two\nnew00001,Ama Three\n")
    assert response.get_json() == {"records_created": 1, "errors": [
        {"row": 2, "errors": {"customer_code": ["Another customer already has this code."]}},
        {"row": 3, "errors": {"customer_code": ["Row 1 already has this code."]}}]}


def test_a_bom_windows_line_endings_and_blank_cells_are_accepted(client, admin_headers):
    data = "\ufeffName,Phone,Email\r\nAkoth Blank,,\r\nBeni Blank,0722111222,\r\n".encode()
    assert post_file(client, CUSTOMERS, admin_headers, data).get_json() == {"records_created": 2, "errors": []}


@pytest.mark.parametrize(("data", "filename", "message"), [
    ("name\nAda Lovelace\n", "people.txt", "Upload a .csv file"),
    (b"PK\x03\x04\x14\x00\x06\x00", "people.csv", "spreadsheet workbook"),
    ("", "people.csv", "The file is empty."),
    ("nom,telephone\nAda,0712345678\n", "people.csv", "Unknown columns: nom, telephone."),
])
def test_a_file_refused_whole_is_400_with_003_s_error_body(client, admin_headers, data, filename, message):
    body = assert_error(post_file(client, CUSTOMERS, admin_headers, data, filename), "003", 400)
    assert message in body["error"]
    assert count(Customer) == 0


def test_no_file_is_400_no_file_provided(client, admin_headers):
    response = client.post(CUSTOMERS, data={}, headers=admin_headers, content_type="multipart/form-data")
    assert assert_error(response, "003", 400) == {"error": "No file provided."}


def test_a_50_mb_file_over_the_real_20_mb_limit_is_refused_and_nothing_is_written(client, admin_headers, tmp_path):
    # The multipart body is written to disk and streamed as it is: no 50 MB copy in the test's memory.
    boundary = "mkopo-test-boundary"
    row = b"Person Big,0712345678,big@example.com,1 Long Road,,Nairobi,Nairobi,00100,1990-01-01\n"
    path = tmp_path / "body"
    with path.open("wb") as out:
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
                  f"Content-Type: text/csv\r\n\r\n".encode())
        out.write(b"name,phone,email,address_line_1,address_line_2,city,state,pincode,date_of_birth\n")
        while out.tell() < 50 * 1024 * 1024:
            out.write(row * 1000)
        out.write(f"\r\n--{boundary}--\r\n".encode())
    with path.open("rb") as body:
        response = client.post(CUSTOMERS, input_stream=body, content_length=path.stat().st_size,
                               content_type=f"multipart/form-data; boundary={boundary}", headers=admin_headers)
    body = assert_error(response, "003", 400)
    assert body["error"] == "The file is larger than 20 MB; split it into smaller files."
    assert count(Customer) == 0
    assert db.session.scalar(select(AuditLog.id).where(AuditLog.action == "customer.bulk_create")) is None


def test_a_file_just_over_a_lowered_limit_is_refused_from_its_bytes(app, client, admin_headers, monkeypatch):
    monkeypatch.setitem(app.config, "BULK_UPLOAD_MAX_BYTES", 100)
    data = "name\n" + "Person Test\n" * 9  # 113 bytes: within the Content-Length slack, caught on reading
    body = assert_error(post_file(client, CUSTOMERS, admin_headers, data), "003", 400)
    assert "larger than" in body["error"]


def test_too_many_rows_is_400_and_nothing_is_created(app, client, admin_headers, monkeypatch):
    monkeypatch.setitem(app.config, "BULK_UPLOAD_MAX_ROWS", 2)
    body = assert_error(post_file(client, CUSTOMERS, admin_headers, "name\nAa Bb\nCc Dd\nEe Ff\n"), "003", 400)
    assert body["error"] == "The file has more than 2 rows; split it into files of at most 2 rows."
    assert count(Customer) == 0


def test_an_unsigned_request_is_401(client):
    assert_error(post_file(client, CUSTOMERS, {}, "name\nAa Bb\n"), "003", 401)


@pytest.mark.parametrize("role", [Role.BORROWER, Role.CALLING_AGENT])
def test_roles_without_customer_create_are_403(client, make_user, api_headers, role):
    response = post_file(client, CUSTOMERS, api_headers(make_user(role)), "name\nAa Bb\n")
    assert_error(response, "003", 403)
    assert count(Customer) == 0


# -- interactions -------------------------------------------------------------------------------------

@pytest.fixture
def loans(make_user):
    officer = make_user(Role.COLLECTION_OFFICER)
    other = make_user(Role.COLLECTION_OFFICER)
    return {"officer": officer,
            "mine": LoanFactory(customer=CustomerFactory(assigned_officer_id=officer.id), loan_number="LNAPI00001"),
            "theirs": LoanFactory(customer=CustomerFactory(assigned_officer_id=other.id), loan_number="LNAPI00002")}


def test_interactions_csv_in_003_s_columns_defaults_to_field(client, api_headers, loans):
    mine, theirs = loans["mine"].id, loans["theirs"].id
    response = post_file(client, INTERACTIONS, api_headers(loans["officer"]),
                         f"loan_id,comment,disposition,next_call_date\n{mine},Visited,visited,\n"
                         f"{theirs},Not my customer,visited,\n{mine},Bad date,visited,2030-02-30\n")
    assert response.status_code == 201
    assert response.get_json() == {"records_created": 1, "errors": [
        {"row": 2, "errors": {"loan_id": ["This customer is not assigned to you."]}},
        {"row": 3, "errors": {"next_call_date": ["Enter the date as YYYY-MM-DD."]}}]}
    assert db.session.scalars(select(Interaction)).one().kind.value == "field"


def test_a_calling_agent_s_field_rows_are_refused_and_calls_created(client, make_user, api_headers, loans):
    response = post_file(client, INTERACTIONS, api_headers(make_user(Role.CALLING_AGENT)),
                         f"loan_id,disposition,interaction_type\n{loans['mine'].id},called,calling\n"
                         f"{loans['mine'].id},visited,field\n{loans['mine'].id},visited,\n")
    assert response.get_json() == {"records_created": 1, "errors": [
        {"row": 2, "errors": {"interaction_type": ["You may not log field interactions."]}},
        {"row": 3, "errors": {"interaction_type": ["You may not log field interactions."]}}]}


def test_a_loan_officer_cannot_upload_interactions(client, make_user, api_headers, loans):
    response = post_file(client, INTERACTIONS, api_headers(make_user(Role.LOAN_OFFICER)),
                         f"loan_id,disposition\n{loans['mine'].id},visited\n")
    assert_error(response, "003", 403)


def test_both_uploads_are_documented_as_multipart(client):
    spec = client.get("/api/schema/").get_json()
    for path in (CUSTOMERS, INTERACTIONS):
        body = spec["paths"][path]["post"]["requestBody"]["content"]
        assert "multipart/form-data" in body
