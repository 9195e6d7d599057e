"""Portal bulk upload: choose a file, preview it (nothing written), import it a chunk per HTMX request."""

import io
import re

from sqlalchemy import func, select

from portal.models import AuditLog, Customer, Role
from portal.models.base import db
from tests.pages import HX

CSV = ("name,phone,date_of_birth\nAmina Preview,0712 000 001,1990-01-01\nBad Phone,12345,\n"
       "Chege Preview,,01/02/1990\nDeka Preview,0712 000 004,\n")


def customers_named(suffix: str) -> int:
    return db.session.scalar(select(func.count()).select_from(Customer).where(Customer.name.like(f"% {suffix}")))


def upload(client, csrf_token, data: str | bytes, kind: str = "customers", filename: str = "people.csv"):
    token = csrf_token("/portal/uploads/")
    data = data.encode() if isinstance(data, str) else data
    return client.post("/portal/uploads/", headers=HX, content_type="multipart/form-data",
                       data={"csrf_token": token, "kind": kind, "file": (io.BytesIO(data), filename)})


def staged_path(response) -> str:
    assert response.status_code == 204, response.get_data(as_text=True)
    return response.headers["HX-Redirect"]


def import_chunk(client, path: str, position: int):
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True))
    return client.post(f"{path}/import", data={"csrf_token": token.group(1), "position": position}, headers=HX)


def test_the_upload_page_offers_what_the_role_may_upload(client, login_as):
    login_as(Role.COLLECTION_OFFICER)
    html = client.get("/portal/uploads/").get_data(as_text=True)
    assert 'value="customers"' in html and 'value="interactions"' in html
    assert 'href="/portal/uploads/"' in html  # the nav link
    login_as(Role.CALLING_AGENT)
    html = client.get("/portal/uploads/").get_data(as_text=True)
    assert 'value="customers"' not in html and 'value="interactions"' in html


def test_upload_shows_a_preview_of_the_first_rows_and_every_error_and_writes_nothing(client, csrf_token, login_as):
    login_as(Role.LOAN_OFFICER)
    path = staged_path(upload(client, csrf_token, CSV))
    assert re.fullmatch(r"/portal/uploads/[A-Za-z0-9_-]{22}", path)

    html = client.get(path).get_data(as_text=True)
    assert "Amina Preview" in html and "Deka Preview" in html
    assert "<strong>2</strong> can be imported" in html and "<strong>2</strong> have" in html
    assert "This is not a valid phone number for its country." in html
    assert "Enter the date as YYYY-MM-DD." in html
    assert "Import 2 valid rows" in html
    assert customers_named("Preview") == 0


def test_confirming_imports_the_valid_rows_once_however_often_the_chunk_is_posted(client, csrf_token, login_as):
    login_as(Role.LOAN_OFFICER)
    path = staged_path(upload(client, csrf_token, CSV))
    response = import_chunk(client, path, 0)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert "Import finished: 2 created; 2 rows" in html and "Bad Phone" not in html
    assert 'hx-trigger="load"' not in html
    assert customers_named("Preview") == 2

    import_chunk(client, path, 0)
    assert customers_named("Preview") == 2
    assert "Import finished: 2 created" in client.get(path).get_data(as_text=True)


def test_a_large_file_is_imported_a_chunk_per_request_behind_a_progress_bar(app, client, csrf_token, login_as,
                                                                              monkeypatch):
    monkeypatch.setitem(app.config, "BULK_UPLOAD_CHUNK_ROWS", 2)
    login_as(Role.ADMIN)
    path = staged_path(upload(client, csrf_token, "name\n" + "".join(f"Row{i} Chunked\n" for i in range(5))))
    html = import_chunk(client, path, 0).get_data(as_text=True)
    assert '<progress class="w-100" value="2" max="5"' in html
    assert 'hx-trigger="load"' in html and 'name="position" value="2"' in html
    assert customers_named("Chunked") == 2

    import_chunk(client, path, 0)  # a repeat of the first chunk: nothing more
    assert customers_named("Chunked") == 2
    import_chunk(client, path, 2)
    html = import_chunk(client, path, 4).get_data(as_text=True)
    assert "Import finished: 5 created" in html
    assert customers_named("Chunked") == 5
    batches = db.session.scalars(select(AuditLog).where(AuditLog.action == "customer.bulk_create")).all()
    assert [b.after["records_created"] for b in batches] == [2, 2, 1]


def test_a_file_refused_whole_shows_why_beside_the_file_field(client, csrf_token, login_as):
    login_as(Role.LOAN_OFFICER)
    response = upload(client, csrf_token, "nom\nAda\n")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" not in html
    assert 'aria-invalid="true"' in html and "Unknown columns: nom." in html
    response = upload(client, csrf_token, b"PK\x03\x04", filename="book.xlsx")
    assert "Upload a .csv file" in response.get_data(as_text=True)


def test_a_file_over_the_size_limit_is_refused(app, client, csrf_token, login_as, monkeypatch):
    login_as(Role.LOAN_OFFICER)
    monkeypatch.setitem(app.config, "BULK_UPLOAD_MAX_BYTES", 64)
    response = upload(client, csrf_token, "name\n" + "Person Test\n" * 10)
    assert response.status_code == 422 and "larger than" in response.get_data(as_text=True)
    response = upload(client, csrf_token, "name\n" + "Person Test\n" * 10_000)  # refused from Content-Length
    assert response.status_code == 400 and "larger than" in response.get_data(as_text=True)


def test_a_calling_agent_s_field_rows_are_reported_in_the_preview(client, csrf_token, login_as):
    login_as(Role.CALLING_AGENT)
    path = staged_path(upload(client, csrf_token, "loan_id,disposition\n1,visited\n", kind="interactions"))
    html = client.get(path).get_data(as_text=True)
    assert "You may not log field interactions." in html and "Loan not found." in html
    assert "<strong>0</strong> can be imported" in html and "valid row" not in html


def test_a_calling_agent_cannot_choose_customers(client, csrf_token, login_as):
    login_as(Role.CALLING_AGENT)
    response = upload(client, csrf_token, "name\nAda Lovelace\n", kind="customers")
    assert response.status_code == 422 and "Not a valid choice" in response.get_data(as_text=True)


def test_another_user_cannot_open_or_import_someone_s_upload(client, csrf_token, login_as):
    login_as(Role.LOAN_OFFICER)
    path = staged_path(upload(client, csrf_token, CSV))
    login_as(Role.LOAN_OFFICER)
    assert client.get(path).status_code == 404
    token = csrf_token("/portal/uploads/")
    assert client.post(f"{path}/import", data={"csrf_token": token, "position": 0}).status_code == 404
    assert customers_named("Preview") == 0


def test_discarding_removes_the_staged_file(client, csrf_token, login_as):
    login_as(Role.LOAN_OFFICER)
    path = staged_path(upload(client, csrf_token, CSV))
    token = csrf_token(path)
    response = client.post(f"{path}/discard", data={"csrf_token": token}, headers=HX)
    assert response.headers["HX-Redirect"] == "/portal/uploads/"
    assert client.get(path).status_code == 404
