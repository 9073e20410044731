"""What the store raises, importable without opening (or importing) the database layer."""


class StoreBusy(Exception):
    """Another process held the database's write lock for longer than we wait; str() says so in one line."""
