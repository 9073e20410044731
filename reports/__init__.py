"""HTML reports: Jinja2 templates (autoescaped) and the code that renders them from plain view data."""
