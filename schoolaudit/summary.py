"""The one-screen summary printed after a run."""
from __future__ import annotations

from schoolaudit.pipeline import RunSummary


def plural(count: int, noun: str) -> str:
    """"1 new finding", "2 new findings"."""
    return f"{count} {noun}" + ("" if count == 1 else "s")


def format_summary(summary: RunSummary) -> str:
    results = summary.results
    lines = [f"Run {summary.run_id}: {plural(len(results), 'account')} checked, {len(summary.failed)} could not be "
             f"checked; {plural(summary.total('posts_new'), 'new post')}, {summary.total('posts_changed')} changed, "
             f"{plural(summary.total('findings_new'), 'new finding')}."]
    width = max((len(r.account.id) for r in results), default=10)
    for r in sorted(results, key=lambda r: r.account.id):
        if r.outcome == "ok":
            lines.append(f"  {r.account.id:<{width}}  ok        {plural(r.posts_seen, 'post'):>9}, "
                         f"{plural(r.findings_new, 'new finding')}"
                         + (f" ({r.detail})" if r.detail else ""))
        else:
            lines.append(f"  {r.account.id:<{width}}  {r.outcome:<9} {r.detail}")
    for name, reason in sorted(summary.disabled_auditors.items()):
        lines.append(f"  auditor {name} is off: {reason}")
    return "\n".join(lines)
