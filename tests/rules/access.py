from resight.users.models import Role
from tests.access import Access

ACCESS: list[Access] = [
    Access("GET", "/rules", Role.viewer),
    Access("GET", "/rules/{rule_id}", Role.viewer),
    Access("POST", "/rules", Role.merchandiser),
    Access("PATCH", "/rules/{rule_id}", Role.merchandiser),
    Access("DELETE", "/rules/{rule_id}", Role.merchandiser),
    Access("POST", "/rules/pin", Role.merchandiser),
    Access("POST", "/rules/boost-clearance", Role.merchandiser),
    Access("POST", "/rules/preview", Role.merchandiser),
]
