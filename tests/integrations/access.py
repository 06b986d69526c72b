from resight.users.models import Role
from tests.access import PUBLIC, Access

ACCESS: list[Access] = [
    Access("POST", "/integrations/{platform}/webhook", PUBLIC, example="/integrations/amazon/webhook"),
    Access("POST", "/stores", Role.admin),
    Access("GET", "/stores", Role.admin),
    Access("GET", "/stores/{store_id}", Role.admin),
    Access("POST", "/stores/{store_id}/rotate-secret", Role.admin),
    Access("GET", "/integrations/deliveries", Role.admin),
    Access("POST", "/integrations/deliveries/{delivery_row_id}/replay", Role.admin),
    Access("POST", "/integrations/{platform}/import", Role.admin, example="/integrations/myntra/import"),
]
