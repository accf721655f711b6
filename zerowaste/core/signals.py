"""Database hooks: sessions on SQLite get foreign keys; nothing else lives here yet."""
