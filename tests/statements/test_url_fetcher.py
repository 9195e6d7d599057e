"""WeasyPrint fetches nothing but the app's own static files: no network, no file:, no data:, no traversal."""

import logging

import pytest
from weasyprint import HTML

from portal.services import statements
from portal.services.statements import STATIC_ROOT, RefusedURL, StaticOnlyFetcher, static_path
from tests.statements.conftest import pdf_text


@pytest.mark.parametrize("url", [
    "mkopo-static:pdf/statement.css",
    "mkopo-static:img/mkopo-logo.svg",
])
def test_static_assets_are_served_from_disk(url):
    response = StaticOnlyFetcher().fetch(url)
    assert response.read() == static_path(url).read_bytes()
    assert static_path(url).is_relative_to(STATIC_ROOT)


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9/beacon.png",
    "https://fonts.example.com/font.woff2",
    "//127.0.0.1/protocol-relative.png",
    "ftp://127.0.0.1/file",
    "file:///etc/passwd",
    "FILE:///etc/passwd",
    "file://" + str(STATIC_ROOT / "pdf" / "statement.css"),  # even the static folder, by file:
    "data:text/css,body{background:url(http://127.0.0.1:9/x)}",
    "data:image/png;base64,iVBORw0KGgo=",
    "mkopo-static:../config.py",
    "mkopo-static:pdf/../../config.py",
    "mkopo-static:%2e%2e/%2e%2e/etc/passwd",
    "mkopo-static:..%2F..%2Fconfig.py",
    "mkopo-static:/etc/passwd",
    "mkopo-static:pdf\\..\\..\\config.py",
    "mkopo-static:pdf/statement.css%00.png",
    "mkopo-static:js/mkopo.js",  # static, but not a statement asset
    "mkopo-static:pdf/missing.css",
    "mkopo-static:",
])
def test_everything_else_is_refused(url):
    fetcher = StaticOnlyFetcher()
    with pytest.raises(RefusedURL):
        fetcher.fetch(url)
    assert fetcher.refused == [url]


def test_a_document_naming_outside_resources_renders_without_fetching_them(app, monkeypatch, caplog):
    opened = []
    monkeypatch.setattr("urllib.request.OpenerDirector.open", lambda *a, **k: opened.append(a) or None)
    fetcher = StaticOnlyFetcher()
    html = """<html><head>
      <link rel="stylesheet" href="http://127.0.0.1:9/evil.css">
      <link rel="stylesheet" href="file:///etc/passwd">
      <style>@import url("https://127.0.0.1:9/imported.css");
             body { background: url("data:image/png;base64,iVBORw0KGgo=") }</style>
      </head><body>
      <p>Statement</p>
      <img src="http://127.0.0.1:9/beacon.png"><img src="file:///etc/passwd">
      <img src="mkopo-static:../../../../etc/passwd"><img src="mkopo-static:img/mkopo-logo.svg">
    </body></html>"""
    with caplog.at_level(logging.WARNING, logger="mkopo.statements"):
        data = HTML(string=html, base_url=statements.STATIC_SCHEME, url_fetcher=fetcher).write_pdf()

    assert "Statement" in pdf_text(data)
    assert opened == []  # urllib was never asked for anything
    assert set(fetcher.refused) == {
        "http://127.0.0.1:9/evil.css", "file:///etc/passwd", "https://127.0.0.1:9/imported.css",
        "data:image/png;base64,iVBORw0KGgo=", "http://127.0.0.1:9/beacon.png",
        "mkopo-static:../../../../etc/passwd"}
    assert "refused to fetch http://127.0.0.1:9/beacon.png" in caplog.text


def test_statement_templates_use_only_static_assets(loan, monkeypatch):
    seen = []
    fetch = StaticOnlyFetcher.fetch
    monkeypatch.setattr(StaticOnlyFetcher, "fetch", lambda self, url, headers=None: seen.append(url) or
                        fetch(self, url, headers))
    statements.render_loan(statements.build_loan_statement(loan))
    assert seen and all(url.startswith("mkopo-static:") for url in seen)
