from fastapi.testclient import TestClient

from resight import __version__


def test_health_reports_ok(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "status": "ok",
        "version": __version__,
        "database": "ok",
        "model_version": None,
        "last_scored_at": None,
    }
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-request-id"]


def test_browser_is_sent_to_the_dashboard(client: TestClient) -> None:
    response = client.get("/", headers={"accept": "text/html,application/xhtml+xml"}, follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == "/app/"


def test_unknown_path_is_json_404(client: TestClient) -> None:
    response = client.get("/no-such-thing")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}
