from tests.access import Access

ACCESS: list[Access] = []
