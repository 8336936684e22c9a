"""User interfaces: the terminal CLI (and, later, the web app)."""
