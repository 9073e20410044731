"""Auditors: one module per concern, each a post in and findings out (see `auditors.base`)."""
