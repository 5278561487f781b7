"""Template tags other apps' pages use to show the catalogue (the home page's situations)."""

from __future__ import annotations

from django import template

from yiwang.catalog import selectors
from yiwang.catalog.models import LifeSituation

register = template.Library()


@register.simple_tag
def catalog_life_situations(target: str | None = None) -> list[LifeSituation]:
    """Life situations that have published items, in display order."""
    return [s for s in selectors.life_situations(target) if getattr(s, "item_count", 0)]
