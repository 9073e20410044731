"""schoolaudit: the application glue (configuration, pipeline, commands) over crawler, auditors and reports."""
