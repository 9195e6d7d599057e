"""Real-browser run of the bulk upload: a CSV with one bad row is previewed with that row reported, then
imported a chunk per request behind the progress bar."""

import pytest
from flask_migrate import upgrade
from playwright.sync_api import expect

from portal import create_app, demo
from portal.models import Role
from portal.models.base import db
from portal.services import users
from tests.browser.conftest import serving, sign_in

pytestmark = pytest.mark.browser

CSV = ("\ufeffName,Phone,Date of birth\r\nAisha Uploaded,0712 555 001,1991-05-06\r\n"
       "Bad Phone Uploaded,12345,\r\nBaraka Uploaded,+254 712 555 003,\r\nChiku Uploaded,,\r\nDuma Uploaded,,\r\n")


@pytest.fixture(scope="module")
def upload_server(tmp_path_factory):
    """Its own server, two rows a chunk so a five-row file takes three requests; the shared one's data stays."""
    path = tmp_path_factory.mktemp("uploads") / "live.db"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
                      "SECRET_KEY": "browser-" + "u" * 40, "BULK_UPLOAD_CHUNK_ROWS": 2})
    with app.app_context():
        upgrade()
        users.create(users.NewUser(username="uploader", password=demo.PASSWORD, role=Role.LOAN_OFFICER,
                                   first_name="Upa", last_name="Loader"), actor=None, by_system=True)
        db.session.commit()
    with serving(app) as url:
        yield url


def test_upload_a_csv_with_one_bad_row_and_see_it_reported(page, upload_server):
    script_errors = []
    page.on("pageerror", lambda error: script_errors.append(error))
    sign_in(page, upload_server, "uploader")
    page.get_by_role("link", name="Upload", exact=True).click()
    page.get_by_label("The file holds").select_option("customers")
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "market.csv", "mimeType": "text/csv", "buffer": CSV.encode()}])
    page.get_by_role("button", name="Upload and preview").click()

    expect(page.get_by_test_id("preview-summary")).to_contain_text("5 rows: 4 can be imported, 1 has errors")
    expect(page.get_by_test_id("preview-rows").locator("tr.table-danger")).to_contain_text("Bad Phone Uploaded")
    bad_row = page.get_by_test_id("row-errors").locator("tbody tr")
    expect(bad_row).to_have_count(1)
    expect(bad_row).to_contain_text("2")
    expect(bad_row).to_contain_text("phone")
    expect(bad_row).to_contain_text("not a valid phone number")

    page.get_by_role("button", name="Import 4 valid rows").click()
    expect(page.get_by_test_id("import-summary")).to_contain_text("Import finished: 4 created; 1 row skipped")
    expect(page.locator("#import progress")).to_have_attribute("value", "5")
    expect(page.get_by_test_id("row-errors")).to_contain_text("not a valid phone number")
    assert not script_errors  # the upload-progress handler (hx-on) among them

    page.get_by_role("link", name="Customers", exact=True).first.click()
    page.get_by_label("Search customers").fill("Uploaded")
    expect(page.get_by_test_id("result-count")).to_contain_text("4 customers")
