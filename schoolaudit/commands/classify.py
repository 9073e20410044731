"""`schoolaudit classify FILE.jsonl`: run the auditors over loose posts and print JSON lines.

No database and no network: each line of the file is one post in the corpus schema; each line
printed is {"id", "labels", "findings"}. A line that is not a post is reported on stderr with
the file and line, and the rest carry on.
"""
from __future__ import annotations

import json
import sys
from collections.abc import Iterator

from auditors.base import AuditContext
from auditors.registry import audit_post, audit_posts, load_auditors, prepare
from records.model import CATEGORIES
from schoolaudit.config import config_dir, load_policy, load_settings
from schoolaudit.corpus import read_posts

HELP = "classify posts from a JSONL file (corpus schema) and print findings as JSON lines; no database needed"
EXAMPLE = "schoolaudit classify posts.jsonl"

FINDING_FIELDS = ("category", "severity", "evidence", "explanation", "clause", "where")
#: Posts shown to the auditors together (`auditors.registry.prepare`): the text model scores them in one call.
BATCH = 256


def add_arguments(parser) -> None:
    parser.add_argument("file", metavar="FILE.jsonl",
                        help="one post per line: id, platform, account{name,kind}, text, image_alt, repost_of")


def load(config: str | None):
    """The policy and the ready auditors for a configuration folder (None: the default one)."""
    directory = config_dir(config)
    policy = load_policy(directory, load_settings(directory))
    auditors, _ = load_auditors(policy, images=False)  # a corpus post's media are alt texts, never downloaded
    return policy, auditors


def classify(post, account, policy, auditors) -> dict:
    """{"id", "labels", "findings"} for one post: labels in category order, findings as dicts."""
    return result(post, audit_post(post, AuditContext(policy, account), auditors))


def result(post, findings: list) -> dict:
    """`classify`'s answer for a post with these findings."""
    findings.sort(key=lambda f: CATEGORIES.index(f.category))
    found = {f.category for f in findings}
    labels = [c for c in CATEGORIES if c in found]
    return {"id": post.platform_id, "labels": labels,
            "findings": [{k: getattr(f, k) for k in FINDING_FIELDS} for f in findings]}


def classify_all(pairs: list, policy, auditors) -> list[dict]:
    """`classify` of each (post, account), the posts shown to the auditors together (`prepare`, `audit_posts`)."""
    prepare(auditors, [post for post, _ in pairs])
    audited = audit_posts([(post, AuditContext(policy, account)) for post, account in pairs], auditors)
    return [result(post, findings) for (post, _), findings in zip(pairs, audited)]


def run(args) -> int:
    policy, auditors = load(args.config)
    bad = 0
    for batch, error in _batches(read_posts(args.file)):
        bad += _print_batch(batch, args.file, policy, auditors)  # what was read before an error is not lost
        if error:
            print(f"schoolaudit classify: cannot read {args.file}: {error.strerror or error}", file=sys.stderr)
            return 2
    return 1 if bad else 0


def _batches(lines: Iterator) -> Iterator[tuple[list, OSError | None]]:
    """The lines in lists of up to BATCH, each with None, or with the error that ended the reading. Only
    the reading is caught: an error writing the findings is not the file's."""
    batch = []
    try:
        for line in lines:
            batch.append(line)
            if len(batch) == BATCH:
                yield batch, None
                batch = []
    except OSError as exc:
        yield batch, exc
        return
    yield batch, None


def _print_batch(batch: list, file: str, policy, auditors) -> int:
    """Print the findings of the batch's posts and the errors of its bad lines, in line order; the number of bad lines."""
    results = iter(classify_all([(line.post, line.account) for line in batch if not line.error], policy, auditors))
    for line in batch:
        if line.error:
            print(f"schoolaudit classify: {file}:{line.number}: {line.error}", file=sys.stderr)
        else:
            print(json.dumps(next(results), ensure_ascii=False))
    return sum(1 for line in batch if line.error)
