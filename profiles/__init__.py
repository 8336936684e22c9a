"""Users, sessions, feedback and natural-language profiles (see ARCHITECTURE.md)."""
