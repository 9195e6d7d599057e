"""002's /api/schema/, /api/docs/ and /api/redoc/: the OpenAPI JSON and two pages served from /static/vendor/."""

import re

import pytest

DOC_PAGES = ["/api/docs/", "/api/redoc/"]
ASSET_RE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", re.I)


def test_schema_is_openapi_json_listing_the_routed_paths(client):
    response = client.get("/api/schema/")

    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.")
    for path in ["/api/token/", "/auth/login", "/customers/", "/api/customers/", "/api/auth/token/",
                 "/v1/auth/login", "/auth/token", "/users"]:
        assert path in spec["paths"], path


@pytest.mark.parametrize("page", DOC_PAGES)
def test_doc_page_is_html_without_any_cdn(client, page):
    response = client.get(page)

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True).lower()
    for cdn in ("cdn", "jsdelivr", "unpkg"):
        assert cdn not in html


@pytest.mark.parametrize("page", DOC_PAGES)
def test_doc_page_assets_are_vendored_and_served(client, page):
    html = client.get(page).get_data(as_text=True)
    assets = ASSET_RE.findall(html)

    assert assets
    for asset in assets:
        assert asset.startswith("/static/vendor/"), asset
        with client.get(asset) as response:
            assert response.status_code == 200, asset


@pytest.mark.parametrize("page", DOC_PAGES)
def test_doc_page_points_at_the_schema(client, page):
    assert "/api/schema/" in client.get(page).get_data(as_text=True)


def test_schema_documents_003s_paging_headers_and_the_total_on_request(client):
    listing = client.get("/api/schema/").get_json()["paths"]["/api/customers/"]["get"]

    assert set(listing["responses"]["200"]["headers"]) == {"Link", "X-Page", "X-Page-Size", "X-Total-Count"}
    assert "total" in {parameter["name"] for parameter in listing["parameters"]}
