from resight.users.models import Role
from tests.access import Access

ACCESS = [
    Access("GET", "/audit-logs", Role.viewer),
]
