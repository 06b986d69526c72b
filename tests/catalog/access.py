from resight.users.models import Role
from tests.access import Access

ACCESS = [
    Access("GET", "/products", Role.viewer),
    Access("GET", "/products/{product_id}", Role.viewer),
]
