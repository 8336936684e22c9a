"""Find catalog specs by name and open catalogs, importing them on first use."""

from __future__ import annotations

from pathlib import Path

from recsys.catalog import Catalog
from recsys.errors import UnknownNameError
from recsys.settings import Settings, get_settings

SPEC_SUFFIXES = (".toml", ".yaml", ".yml")


def spec_dirs(settings: Settings) -> list[Path]:
    """Where specs are looked up: TASTEBUD_CATALOGS_DIR, ./data/catalogs, the repo's."""
    dirs = [settings.catalogs_dir] if settings.catalogs_dir else []
    dirs += [Path.cwd() / "data" / "catalogs",
             Path(__file__).resolve().parent.parent / "data" / "catalogs"]
    seen: list[Path] = []
    for d in dirs:
        if d and d.is_dir() and d.resolve() not in seen:
            seen.append(d.resolve())
    return seen


def known_specs(settings: Settings) -> dict[str, Path]:
    """Spec name (file stem) -> path; earlier directories win."""
    found: dict[str, Path] = {}
    for d in spec_dirs(settings):
        for p in sorted(d.iterdir()):
            if p.suffix in SPEC_SUFFIXES:
                found.setdefault(p.stem, p)
    return found


def find_spec(name: str, settings: Settings) -> Path:
    specs = known_specs(settings)
    if name not in specs:
        raise UnknownNameError("catalog spec", name, list(specs))
    return specs[name]


def open_catalog(name: str | None = None, settings: Settings | None = None, *,
                 progress: bool | None = None) -> Catalog:
    """Load a stored catalog; import it from its spec (fetching the data) if missing."""
    from recsys.db import get_engine
    from recsys.importer import import_catalog
    from recsys.store import load_catalog, stored_fingerprint

    settings = settings or get_settings()
    name = name or settings.catalog
    engine = get_engine(settings.database_url)
    if stored_fingerprint(engine, name) is None:
        import_catalog(find_spec(name, settings), settings, progress=progress)
    return load_catalog(engine, name)
