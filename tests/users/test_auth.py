from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from resight.app import create_app
from resight.audit.models import AuditLog
from resight.config import Settings
from resight.users.models import ApiToken, Role, User
from tests.factories import PASSWORD, auth_headers, headers_for, make_user


def _login(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post("/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    return {"Authorization": f"Bearer {body['access_token']}"}


def test_login_returns_a_working_bearer_token(client: TestClient, db: Session) -> None:
    user = make_user(db, Role.merchandiser)
    headers = _login(client, user.username)
    me = client.get("/auth/me", headers=headers)
    assert me.status_code == 200
    assert me.json() == {
        "id": user.id,
        "username": user.username,
        "role": "merchandiser",
        "token_kind": "session",
    }
    stored = db.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).one()
    assert headers["Authorization"].removeprefix("Bearer ") not in stored.token_hash
    assert len(stored.token_hash) == 64
    login_audit = db.scalars(select(AuditLog).where(AuditLog.action == "auth.login")).all()
    assert [row.actor_id for row in login_audit] == [str(user.id)]


def test_login_token_lives_for_the_configured_lifetime(
    settings: Settings, engine: Engine, session_factory: sessionmaker[Session], db: Session
) -> None:
    user = make_user(db)
    configured = settings.model_copy(update={"token_lifetime_minutes": 5})
    with TestClient(create_app(configured, engine=engine, session_factory=session_factory)) as client:
        before = dt.datetime.now(dt.UTC)
        response = client.post("/auth/token", data={"username": user.username, "password": PASSWORD})
        after = dt.datetime.now(dt.UTC)
    assert response.status_code == 200, response.text
    expires_at = dt.datetime.fromisoformat(response.json()["expires_at"])
    lifetime = dt.timedelta(minutes=5)
    assert before + lifetime <= expires_at <= after + lifetime
    stored = db.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).one()
    assert stored.expires_at == expires_at


def test_passwords_are_argon2_hashed(db: Session, client: TestClient) -> None:
    admin = headers_for(db, Role.admin)
    response = client.post(
        "/users", headers=admin, json={"username": "meera", "password": "s3cret-pass", "role": "viewer"}
    )
    assert response.status_code == 201, response.text
    assert "password" not in response.json()
    stored = db.scalars(select(User).where(User.username == "meera")).one()
    assert stored.password_hash.startswith("$argon2id$")
    _login(client, "meera", "s3cret-pass")


def test_wrong_password_and_unknown_user_get_the_same_401(client: TestClient, db: Session) -> None:
    user = make_user(db)
    wrong = client.post("/auth/token", data={"username": user.username, "password": "nope-nope"})
    unknown = client.post("/auth/token", data={"username": "ghost", "password": "nope-nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"detail": "Incorrect username or password"}


def test_expired_token_is_refused(client: TestClient, db: Session) -> None:
    user = make_user(db)
    headers = auth_headers(db, user, lifetime=dt.timedelta(seconds=-1))
    response = client.get("/products", headers=headers)
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_malformed_authorization_header_is_401(client: TestClient) -> None:
    assert client.get("/products", headers={"Authorization": "Basic abc"}).status_code == 401
    assert client.get("/products", headers={"Authorization": "Bearer not-a-token"}).status_code == 401


def test_disabling_a_user_revokes_their_tokens(client: TestClient, db: Session) -> None:
    admin = headers_for(db, Role.admin)
    user = make_user(db)
    headers = _login(client, user.username)
    assert client.get("/products", headers=headers).status_code == 200
    response = client.patch(f"/users/{user.id}", headers=admin, json={"is_active": False})
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert client.get("/products", headers=headers).status_code == 401
    assert (
        client.post("/auth/token", data={"username": user.username, "password": PASSWORD}).status_code == 401
    )
    # Enabling again does not resurrect old tokens.
    client.patch(f"/users/{user.id}", headers=admin, json={"is_active": True})
    assert client.get("/products", headers=headers).status_code == 401
    _login(client, user.username)


def test_api_tokens_for_scripts(client: TestClient, db: Session) -> None:
    admin = headers_for(db, Role.admin)
    viewer = make_user(db, Role.viewer)
    created = client.post(
        "/auth/api-tokens", headers=admin, json={"name": "nightly export", "user_id": viewer.id}
    )
    assert created.status_code == 201, created.text
    body = created.json()
    token = body["token"]
    assert token.startswith("rs_")
    assert body["expires_at"] is None
    script = {"Authorization": f"Bearer {token}"}
    me = client.get("/auth/me", headers=script).json()
    assert me["username"] == viewer.username
    assert me["token_kind"] == "api"
    listed = client.get("/auth/api-tokens", headers=script).json()
    assert [item["id"] for item in listed["items"]] == [body["id"]]
    assert "token" not in listed["items"][0]
    assert client.delete(f"/auth/api-tokens/{body['id']}", headers=admin).status_code == 200
    assert client.get("/auth/me", headers=script).status_code == 401
    actions = [row.action for row in db.scalars(select(AuditLog).order_by(AuditLog.seq))]
    assert "api_token.created" in actions
    assert "api_token.revoked" in actions


def test_user_validation_and_conflicts(client: TestClient, db: Session) -> None:
    admin = headers_for(db, Role.admin)
    short = client.post("/users", headers=admin, json={"username": "ravi", "password": "short"})
    assert short.status_code == 422
    bad_role = client.post(
        "/users", headers=admin, json={"username": "ravi", "password": "long-enough", "role": "god"}
    )
    assert bad_role.status_code == 422
    assert (
        client.post("/users", headers=admin, json={"username": "ravi", "password": "long-enough"}).status_code
        == 201
    )
    again = client.post("/users", headers=admin, json={"username": "ravi", "password": "long-enough"})
    assert again.status_code == 409
    assert "taken" in again.json()["detail"]
    assert client.patch("/users/999999", headers=admin, json={"role": "admin"}).status_code == 404


def test_role_change_is_audited_with_old_and_new_values(client: TestClient, db: Session) -> None:
    admin = headers_for(db, Role.admin)
    user = make_user(db, Role.viewer)
    client.patch(f"/users/{user.id}", headers=admin, json={"role": "merchandiser"})
    row = db.scalars(select(AuditLog).where(AuditLog.action == "user.updated")).one()
    assert row.entity_id == str(user.id)
    assert row.old_value["role"] == "viewer"
    assert row.new_value["role"] == "merchandiser"
    assert row.actor_type == "user"


def test_login_attempts_are_rate_limited(client: TestClient, db: Session) -> None:
    user = make_user(db)
    limit = client.app.state.settings.login_attempts_per_minute  # type: ignore[attr-defined]
    for _ in range(limit):
        assert (
            client.post(
                "/auth/token", data={"username": user.username, "password": "wrong-guess"}
            ).status_code
            == 401
        )
    blocked = client.post("/auth/token", data={"username": user.username, "password": PASSWORD})
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) >= 1
    assert "too many login attempts" in blocked.json()["detail"]
    # Another account from the same address is not locked out by this one's attempts.
    other = make_user(db)
    _login(client, other.username)
