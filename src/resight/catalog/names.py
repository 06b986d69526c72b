"""How brand, marketplace and category names compare: case-insensitively, ignoring outer spaces
and, for category paths, the spacing around each " > ". Rules, the ranking's filters and the
product list all compare names this way."""

from __future__ import annotations

CATEGORY_SEPARATOR = " > "


def normalise_key(value: str) -> str:
    """Brand and marketplace names match case-insensitively, ignoring outer spaces."""
    return value.strip().casefold()


def category_levels(path: str) -> list[str]:
    """ "Ethnic Wear > Kurtas" -> ["ethnic wear", "kurtas"]; empty levels are dropped."""
    return [level for level in (normalise_key(part) for part in path.split(">")) if level]


def normalise_category(path: str) -> str:
    return CATEGORY_SEPARATOR.join(category_levels(path))
