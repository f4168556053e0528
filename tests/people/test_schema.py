import pytest

pytestmark = pytest.mark.django_db


def test_openapi_schema_lists_people_paths(client) -> None:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in [
        "/api/v1/teams/",
        "/api/v1/team-memberships/",
        "/api/v1/engineers/",
        "/api/v1/engineers/me/",
        "/api/v1/contact-methods/",
        "/api/v1/contact-methods/{id}/send-verification/",
        "/api/v1/contact-methods/{id}/verify/",
        "/api/v1/notification-rules/",
        "/api/v1/me/token/",
    ]:
        assert path in paths, path
    assert "requestBody" in paths["/api/v1/contact-methods/{id}/verify/"]["post"]
