"""Which items suit an audience (children): a rule from the catalog spec, read as a mask."""

from __future__ import annotations

import numpy as np

from recsys.catalog import Catalog
from recsys.errors import UnknownNameError


def suitable(catalog: Catalog, audience: str) -> np.ndarray:
    """(n_items,) bool: items whose rating is allowed, or unrated items carrying one of the
    rule's ``unrated`` values; never an item with an ``exclude`` value."""
    rule = catalog.audience.get(audience)
    if rule is None:
        raise UnknownNameError(f"audience of catalog '{catalog.name}'", audience,
                               list(catalog.audience))
    key = f"_audience_{audience}"
    if key in catalog.__dict__:  # built once per catalog: every child turn asks
        return catalog.__dict__[key]
    n = catalog.n_items
    rated = np.zeros(n, bool)
    ok = np.zeros(n, bool)
    attr = catalog.attributes.get(rule.rating_field)
    if attr is not None:
        rated = np.diff(attr.matrix.indptr) > 0
        for v in rule.allow:
            ok[attr.items_with(v)] = True
    for fld, values in rule.unrated.items():
        a = catalog.attributes.get(fld)
        if a is None:
            continue
        for v in values:
            hit = np.zeros(n, bool)
            hit[a.items_with(v)] = True
            ok |= hit & ~rated
    for fld, values in rule.exclude.items():
        a = catalog.attributes.get(fld)
        if a is None:
            continue
        for v in values:
            ok[a.items_with(v)] = False
    catalog.__dict__[key] = ok
    return ok
