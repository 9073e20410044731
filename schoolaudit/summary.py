"""The one-screen summary printed after a run."""
from __future__ import annotations

from schoolaudit.pipeline import RunSummary


def format_summary(summary: RunSummary) -> str:
    results = summary.results
    lines = [f"Run {summary.run_id}: {len(results)} accounts checked, {len(summary.failed)} could not be checked; "
             f"{summary.total('posts_new')} new posts, {summary.total('posts_changed')} changed, "
             f"{summary.total('findings_new')} new findings."]
    width = max((len(r.account.id) for r in results), default=10)
    for r in sorted(results, key=lambda r: r.account.id):
        if r.outcome == "ok":
            lines.append(f"  {r.account.id:<{width}}  ok        {r.posts_seen:>3} posts, {r.findings_new} new findings"
                         + (f" ({r.detail})" if r.detail else ""))
        else:
            lines.append(f"  {r.account.id:<{width}}  {r.outcome:<9} {r.detail}")
    for name, reason in sorted(summary.disabled_auditors.items()):
        lines.append(f"  auditor {name} is off: {reason}")
    return "\n".join(lines)
