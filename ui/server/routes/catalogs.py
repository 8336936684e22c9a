"""Catalogs, item search and item details (public: the catalog is not personal data)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status

from agent.nlu.lexicon import normalize
from ui.server.deps import MaybeUserDep, ServicesDep

router = APIRouter(prefix="/api", tags=["catalogs"])
CatalogQ = Annotated[str | None, Query(max_length=100, description="default: the server's")]


_NORMALIZED: dict[str, list[str]] = {}  # catalog fingerprint -> normalized titles


def _titles(cat: Any) -> list[str]:
    if cat.fingerprint not in _NORMALIZED:
        _NORMALIZED[cat.fingerprint] = [normalize(t) for t in cat.titles]
    return _NORMALIZED[cat.fingerprint]


def _manager(svc: ServicesDep, catalog: str | None, user: Any) -> Any:
    """The catalog's manager; loading one (training, indexing: minutes) needs a signed-in
    user, so anonymous requests cannot make the server do that work."""
    name = svc.catalog_name(catalog)
    if user is None and name not in svc.pool.loaded():
        raise HTTPException(status.HTTP_401_UNAUTHORIZED,
                            f"catalog '{name}' is not loaded yet and loading it takes a while; "
                            "sign in (Authorization: Bearer <token>) to open it",
                            headers={"WWW-Authenticate": "Bearer"})
    return svc.pool.get(name)


@router.get("/catalogs")
def catalogs(svc: ServicesDep) -> list[dict[str, Any]]:
    """Imported catalogs (name, title, sizes, whether loaded, which is the default)."""
    return svc.catalogs()


@router.get("/items")
def search_items(svc: ServicesDep, user: MaybeUserDep,
                 q: Annotated[str, Query(min_length=1, max_length=200)],
                 catalog: CatalogQ = None,
                 limit: Annotated[int, Query(ge=1, le=50)] = 10) -> list[dict[str, Any]]:
    """Items whose title contains ``q``, then items whose text is closest in meaning."""
    manager = _manager(svc, catalog, user)
    cat = manager.catalog
    needle = normalize(q).strip()
    hits = [i for i, t in enumerate(_titles(cat)) if needle and needle in t][:limit]
    if len(hits) < limit and len(needle) >= 3:
        ranked = manager.base.semantic_index().search(q, limit, exclude=hits)
        hits += [int(i) for i in ranked.ids if int(i) >= 0][:limit - len(hits)]
    return [manager.card(i, k + 1) for k, i in enumerate(hits)]


@router.get("/items/{item_id}")
def item(item_id: str, svc: ServicesDep, user: MaybeUserDep,
         catalog: CatalogQ = None) -> dict[str, Any]:
    """One item: its card, all its attribute values and its text."""
    manager = _manager(svc, catalog, user)
    cat = manager.catalog
    i = cat.item(item_id)
    return {**manager.card(i, 0), "attributes": cat.item_attributes(i), "text": cat.texts[i]}
