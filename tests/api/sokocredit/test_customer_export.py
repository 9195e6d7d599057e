"""001 GET /customers/: has_documents, format=csv|excel (the whole filtered listing, streamed), /customers/openapi."""

import io
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook

from portal.models import CustomerDocument, DocumentKind, KycStatus, Role
from portal.models.base import db
from portal.services import exports
from tests.api.conftest import assert_error, assert_invalid

HEADER = ("id,customer_code,account_number,name,phone,email,national_id,business_name,location,address_line_1,"
          "address_line_2,city,state,pincode,date_of_birth,assigned_officer,assigned_officer_name,kyc_status,"
          "kyc_level,created_by,created_at")


@pytest.fixture
def admin(make_user):
    return make_user(Role.ADMIN, first_name="Grace", last_name="Admin")


@pytest.fixture
def officer(make_user):
    return make_user(Role.COLLECTION_OFFICER, first_name="Njeri", last_name="Wambui")


@pytest.fixture
def gikomba(make_customer, admin, officer):
    """Two Gikomba customers (one with a name a spreadsheet would run as a formula) and one elsewhere."""
    achieng = make_customer(customer_code="ACH00001", account_number="achieng22334455", name="Achieng Otieno",
                            phone="+254712555010", email="achieng@example.co.ke", national_id="22334455",
                            business_name="Achieng Greens", location="Gikomba", city="Nairobi",
                            date_of_birth=date(1990, 5, 17), assigned_officer_id=officer.id, created_by_id=admin.id,
                            kyc_status=KycStatus.VERIFIED, created_at=datetime(2025, 3, 1, 7, 30, tzinfo=UTC))
    formula = make_customer(customer_code="FRM00002", account_number="frm00002", name="=HYPERLINK(\"x\")",
                            phone="+254722000111", business_name="-1+2", location="Gikomba West",
                            created_at=datetime(2025, 3, 2, 9, 0, tzinfo=UTC))
    make_customer(name="Baraka Juma", location="Kibera", created_at=datetime(2025, 3, 3, 9, 0, tzinfo=UTC))
    return achieng, formula


def _csv_lines(response) -> list[str]:
    return response.get_data(as_text=True).split("\r\n")


def test_csv_export_has_exact_cells_for_the_filtered_customers(client, api_headers, admin, officer, gikomba):
    achieng, formula = gikomba

    response = client.get("/customers/?format=csv&location=gikomba", headers=api_headers(admin))

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.is_streamed
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment; filename=customers-") and disposition.endswith(".csv")
    assert _csv_lines(response) == [
        HEADER,
        # Newest first, as the listing; cells that would run as formulas are prefixed, phone numbers are not.
        f"{formula.id},FRM00002,frm00002,\"'=HYPERLINK(\"\"x\"\")\",+254722000111,,,'-1+2,Gikomba West,,,,,,,,,"
        f"unverified,tier_0,,2025-03-02T09:00:00Z",
        f"{achieng.id},ACH00001,achieng22334455,Achieng Otieno,+254712555010,achieng@example.co.ke,22334455,"
        f"Achieng Greens,Gikomba,,,Nairobi,,,1990-05-17,{officer.id},Njeri Wambui,verified,tier_0,{admin.id},"
        f"2025-03-01T07:30:00Z",
        "",
    ]


def test_excel_export_has_exact_cells_for_the_filtered_customers(client, api_headers, admin, officer, gikomba):
    achieng, formula = gikomba

    response = client.get("/customers/?format=excel&location=gikomba", headers=api_headers(admin))

    assert response.status_code == 200
    assert response.mimetype == exports.XLSX_MIMETYPE
    assert response.headers["Content-Disposition"].endswith(".xlsx")
    assert int(response.headers["Content-Length"]) == len(response.data)
    sheet = load_workbook(io.BytesIO(response.data), read_only=True)["Customers"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == tuple(HEADER.split(","))
    assert rows[1] == (formula.id, "FRM00002", "frm00002", '=HYPERLINK("x")', "+254722000111", None, None, "-1+2",
                       "Gikomba West", None, None, None, None, None, None, None, None, "unverified", "tier_0", None,
                       datetime(2025, 3, 2, 9, 0))
    assert rows[2] == (achieng.id, "ACH00001", "achieng22334455", "Achieng Otieno", "+254712555010",
                       "achieng@example.co.ke", "22334455", "Achieng Greens", "Gikomba", None, None, "Nairobi", None,
                       None, datetime(1990, 5, 17), officer.id, "Njeri Wambui", "verified", "tier_0", admin.id,
                       datetime(2025, 3, 1, 7, 30))
    assert len(rows) == 3


def test_excel_keeps_formula_lookalikes_as_text(client, api_headers, admin, gikomba):
    response = client.get("/customers/?format=excel&search=hyperlink", headers=api_headers(admin))

    sheet = load_workbook(io.BytesIO(response.data))["Customers"]
    assert sheet["D2"].value == '=HYPERLINK("x")' and sheet["D2"].data_type == "s"


def test_export_is_every_page_streamed_in_batches(client, api_headers, admin, make_customer, monkeypatch):
    monkeypatch.setattr(exports, "BATCH", 3)
    for i in range(8):
        make_customer(name=f"Paged {i}")

    response = client.get("/customers/?format=csv&per_page=2&page=3", headers=api_headers(admin))

    chunks = list(response.response)
    assert len(chunks) == 3  # 3 + 3 + 2 rows, one chunk per batch (the header rides with the first)
    lines = b"".join(chunks).decode().split("\r\n")
    assert len(lines) == 1 + 8 + 1


def test_export_of_nothing_is_the_header_alone(client, api_headers, admin):
    response = client.get("/customers/?format=csv&search=nobody-matches", headers=api_headers(admin))

    assert _csv_lines(response) == [HEADER, ""]


def test_a_collection_officer_exports_only_their_customers(client, api_headers, officer, gikomba):
    for fmt in ("csv", "excel"):
        response = client.get(f"/customers/?format={fmt}", headers=api_headers(officer))
        if fmt == "csv":
            names = [line.split(",")[3] for line in _csv_lines(response)[1:-1]]
        else:
            sheet = load_workbook(io.BytesIO(response.data), read_only=True)["Customers"]
            names = [row[3] for row in list(sheet.iter_rows(values_only=True))[1:]]
        assert names == ["Achieng Otieno"], fmt


def test_my_customers_exports_too(client, api_headers, admin, gikomba):
    response = client.get("/customers/my_customers?format=csv", headers=api_headers(admin))

    assert [line.split(",")[3] for line in _csv_lines(response)[1:-1]] == ["Achieng Otieno"]


def test_export_needs_a_token(client):
    assert_error(client.get("/customers/?format=csv"), "001", 401)


def _with_document(customer) -> None:
    db.session.add(CustomerDocument(customer_id=customer.id, kind=DocumentKind.NATIONAL_ID, filename="id.jpg",
                                    content_type="image/jpeg", size_bytes=3, storage_key="0" * 64))
    db.session.commit()


@pytest.mark.parametrize(("value", "expected"), [("true", ["Achieng Otieno"]),
                                                 ("false", ["=HYPERLINK(\"x\")", "Baraka Juma"])])
def test_has_documents_filters_the_listing_and_the_export(client, api_headers, admin, gikomba, value, expected):
    _with_document(gikomba[0])

    body = client.get(f"/customers/?has_documents={value}", headers=api_headers(admin)).get_json()
    response = client.get(f"/customers/?has_documents={value}&format=excel", headers=api_headers(admin))

    assert sorted(c["name"] for c in body["customers"]) == expected
    assert set(body) == {"customers", "total", "page", "pages"} and body["total"] == len(expected)
    sheet = load_workbook(io.BytesIO(response.data), read_only=True)["Customers"]
    assert sorted(row[3] for row in list(sheet.iter_rows(values_only=True))[1:]) == expected


@pytest.mark.parametrize("query", ["unknown=1", "format=pdf", "has_documents=maybe", "format=csv&colour=red"])
def test_an_unknown_filter_or_value_is_a_400(client, api_headers, admin, query):
    response = client.get(f"/customers/?{query}", headers=api_headers(admin))

    assert_invalid(response, "001")
    assert response.is_json


def test_openapi_answers_the_listing_schema(client):
    response = client.get("/customers/openapi")

    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.")
    operation = document["paths"]["/customers/"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {
        "page", "per_page", "search", "created_by", "business_name", "location", "has_documents", "format"}
    formats = next(p for p in operation["parameters"] if p["name"] == "format")
    assert formats["schema"]["enum"] == ["csv", "excel"]
    content = operation["responses"]["200"]["content"]
    assert set(content) == {"application/json", "text/csv", exports.XLSX_MIMETYPE}
    listing_ref = content["application/json"]["schema"]["$ref"]
    schemas = document["components"]["schemas"]
    listing = schemas[listing_ref.rsplit("/", 1)[1]]
    assert set(listing["properties"]) == {"customers", "total", "page", "pages"}
    customer = schemas[listing["properties"]["customers"]["items"]["$ref"].rsplit("/", 1)[1]]
    assert {"id", "customer_code", "name", "phone", "business_name", "location"} <= set(customer["properties"])
