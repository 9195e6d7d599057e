"""Every surface answers errors in its own document's shape: unrouted paths, wrong methods, bad JSON."""

import pytest

from tests.api.conftest import assert_error, assert_invalid


@pytest.mark.parametrize(("surface", "path"), [
    ("002", "/api/v1/no-such-app/"),
    ("002", "/api/v1/"),
    ("004", "/v1/no-such-thing"),
    ("004", "/v1/"),
    ("003", "/api/no-such-thing/"),
    ("003", "/api/customers/not-a-number/"),
])
def test_unrouted_api_path_gets_404_in_the_shape_of_the_prefix_owner(client, surface, path):
    assert_error(client.get(path), surface, 404)


def test_unrouted_non_api_path_is_not_json(client):
    response = client.get("/no-such-page")

    assert response.status_code == 404
    assert not response.is_json


@pytest.mark.parametrize(("surface", "method", "path", "allowed"), [
    ("000", "GET", "/auth/token", "POST"),
    ("000", "DELETE", "/users", "POST"),
    ("001", "GET", "/auth/login", "POST"),
    ("001", "GET", "/auth/logout", "POST"),
    ("001", "POST", "/auth/me", "GET"),
    ("001", "GET", "/api/users/change-password", "PUT"),
    ("001", "DELETE", "/customers/", "POST"),
    ("001", "PUT", "/customers/1", "PATCH"),
    ("002", "GET", "/api/token/", "POST"),
    ("002", "POST", "/api/schema/", "GET"),
    ("003", "GET", "/api/auth/token/", "POST"),
    ("003", "GET", "/api/auth/token/refresh/", "POST"),
    ("003", "POST", "/api/users/", "GET"),
    ("003", "GET", "/api/users/register/", "POST"),
    ("003", "DELETE", "/api/customers/", "GET"),
    ("003", "GET", "/api/customers/create/", "POST"),
    ("003", "POST", "/api/customers/1/", "PATCH"),
    ("003", "DELETE", "/api/logs/", "GET"),
    ("004", "GET", "/v1/auth/login", "POST"),
    ("004", "PUT", "/v1/auth/register", "POST"),
])
def test_wrong_method_gets_405_in_the_surface_shape(client, surface, method, path, allowed):
    response = client.open(path, method=method)

    assert_error(response, surface, 405)
    assert allowed in response.headers["Allow"]


@pytest.mark.parametrize(("surface", "path"), [
    ("000", "/auth/token"),
    ("001", "/auth/login"),
    ("002", "/api/token/"),
    ("003", "/api/auth/token/"),
    ("004", "/v1/auth/login"),
])
def test_malformed_json_body_is_a_bad_request_in_the_surface_shape(client, surface, path):
    """An unparseable body is a 400 Bad Request everywhere (004 keeps 422 for well-formed invalid data)."""
    response = client.post(path, data="{not json", content_type="application/json")

    if surface == "003":  # either of 003's two documented bodies
        assert response.status_code == 400
        body = response.get_json()
        assert set(body) in ({"error"}, {"errors"}), body
    else:
        assert_error(response, surface, 400)


@pytest.mark.parametrize(("surface", "path", "fields"), [
    ("000", "/auth/token", ("username", "password")),
    ("001", "/auth/login", ("password",)),
    ("002", "/api/token/", ("email", "password")),
    ("003", "/api/auth/token/", ("username", "password")),
    ("004", "/v1/auth/login", ("identifier", "password")),
])
def test_missing_credentials_name_each_missing_field(client, surface, path, fields):
    assert_invalid(client.post(path, json={}), surface, *fields)
