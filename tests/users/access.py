from resight.users.models import Role
from tests.access import PUBLIC, Access

ACCESS = [
    Access("GET", "/", PUBLIC),
    Access("POST", "/auth/token", PUBLIC),
    Access("GET", "/auth/me", Role.viewer),
    Access("GET", "/users", Role.admin),
    Access("POST", "/users", Role.admin),
    Access("PATCH", "/users/{user_id}", Role.admin),
    Access("GET", "/auth/api-tokens", Role.viewer),
    Access("POST", "/auth/api-tokens", Role.admin),
    Access("DELETE", "/auth/api-tokens/{token_id}", Role.admin),
]
