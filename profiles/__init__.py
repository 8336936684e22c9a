"""Users, sessions, feedback and natural-language profiles (see ARCHITECTURE.md).

Start with ``profiles.db.open_store()``: it migrates the configured database to the latest
schema (Alembic, ``profiles.migrate``) and returns a ``profiles.store.ProfileStore``.
"""
