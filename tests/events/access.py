from resight.users.models import Role
from tests.access import Access

ACCESS: list[Access] = [
    Access("GET", "/metrics", Role.viewer),
    Access("GET", "/metrics/timeseries", Role.viewer),
    Access("GET", "/metrics/breakdown", Role.viewer, example="/metrics/breakdown?by=brand"),
    Access("GET", "/metrics/movers", Role.viewer),
    Access("GET", "/alerts", Role.viewer),
    Access("POST", "/alerts/{alert_id}/ack", Role.merchandiser),
]
