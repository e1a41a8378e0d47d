"""Feeds without Telegram or a database: URL guard, fetching and parsing of RSS and Atom."""
