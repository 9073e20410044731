"""The records core: schoolaudit's data model and the only code that talks to the database.

`records.model` holds the typed vocabulary every layer shares (accounts, posts, media, findings and
their statuses, runs, checks, digests, deliveries); `records.store.Store` keeps them. Nothing
outside this package writes SQL: the crawler, the auditors and the application ask the store in
the language of the domain (`save_posts`, `record_decision`, `queue_digest`).
"""
