"""Storage: SQLAlchemy Core tables, queries and migrations for SQLite and PostgreSQL."""
