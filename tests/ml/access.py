from resight.users.models import Role
from tests.access import Access

ACCESS: list[Access] = [
    Access("POST", "/rank", Role.viewer, reads_only=True),
    Access("GET", "/item/{item_id}", Role.viewer),
    Access("GET", "/item/{item_id}/history", Role.viewer),
    Access("GET", "/explain/{item_id}", Role.viewer),
    # What-ifs change nothing, but they are a merchandiser's tool (and cost a model evaluation).
    Access("POST", "/whatif/price", Role.merchandiser),
    Access("POST", "/whatif/price-sweep", Role.merchandiser),
    Access("GET", "/models", Role.viewer),
    Access("POST", "/models/{version}/promote", Role.admin, example="/models/v1/promote"),
]
