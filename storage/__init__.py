"""Persistence: SQLAlchemy models, engine and session factories, repositories, search index."""
