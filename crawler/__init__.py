"""Fetching and keeping posts: the data model, the polite HTTP client, the store and one source per platform."""
