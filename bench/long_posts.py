"""Time every auditor on worst-case long posts, and how that time grows with the length.

    .venv/bin/python bench/long_posts.py [--size 85000] [--rules]

Each input is one post: 20,000 "(", runs of "!" or "*", a long post with no sentence break
(rule words, no punctuation), one repeated word, capitalised names, spaced letters, digits, many
short sentences. For each, prints
the CPU seconds of all auditors together at the given size and at 4x the size, and their ratio:
near 4 is linear, near 16 quadratic. With --rules, the slowest rules of a text auditor taking over
0.2 s at the given size.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from auditors.base import AuditContext  # noqa: E402
from auditors.text import RuleAuditor, forget_texts  # noqa: E402
from records.model import Account, Post  # noqa: E402
from schoolaudit.commands.classify import load  # noqa: E402

_WORDS = ("you parents are so stupid and your kids students team coach the ref needs glasses apparently some "
          "parents still can't read the newsletter Maya in Grade 4 has asthma home alone call 555 123 4567 "
          "fuck f u c k 🙄 😉 hard balls Jordan Ellis lives at 12 Main Street").split()


def _repeat(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


INPUTS = {
    "open parens": lambda n: "(" * n,
    "marks, no space": lambda n: "!" * (n // 2) + "." * (n // 2) + "x",
    "masked word": lambda n: " f" + "*" * n + "x",
    "dotted letters": lambda n: _repeat("f.u.c.", n),
    "bars and ones": lambda n: _repeat("|1", n),
    "ones and marks": lambda n: _repeat("1!", n),
    "dotted words, no @": lambda n: _repeat("www.", n),
    "digits and dashes": lambda n: _repeat("12-", n),
    "words, no breaks": lambda n: _repeat(" ".join(_WORDS) + " ", n),
    "one word repeated": lambda n: _repeat("the ", n),
    "capitalised names": lambda n: _repeat("Maya Jordan Ellis Liam ", n),
    "proper nouns": lambda n: _repeat("Grand River Long Point Public School Rivera ", n),
    "sentences": lambda n: _repeat("Moby Dick asthma is on crack. ", n),
    "spaced letters": lambda n: _repeat("f u c ", n),
    "digits and spaces": lambda n: _repeat("12 345 6789 ", n),
    "dots and stars": lambda n: _repeat(". * -", n),
    "at signs": lambda n: _repeat("@a.b ", n),
}


def post_of(text: str) -> Post:
    return Post(account_id="bench", platform="x", platform_id="1", url=None, created_at=None, text=text)


def seconds(auditor, post: Post, context: AuditContext) -> float:
    forget_texts()
    start = time.process_time()  # CPU seconds: the machine may be shared
    auditor.audit(post, context)
    return time.process_time() - start


def slowest_rules(auditor: RuleAuditor, text: str, top: int = 3) -> list[tuple[float, str]]:
    """(seconds, rule id) of the rules whose term scan is slowest on `text`."""
    timed = []
    for rule in auditor.rules:
        start = time.perf_counter()
        for _ in rule.terms.finditer(text):
            pass
        timed.append((time.perf_counter() - start, rule.id))
    return sorted(timed, reverse=True)[:top]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     epilog="Example: nice .venv/bin/python bench/long_posts.py --size 85000 --rules")
    parser.add_argument("--size", type=int, default=20000, help="characters of the base input (default 20000)")
    parser.add_argument("--rules", action="store_true", help="also list the slowest rules per input")
    args = parser.parse_args(argv)
    policy, auditors = load(None)
    context = AuditContext(policy, Account(id="bench", name="bench", kind="school", platform="x", target="bench"))
    worst = 0.0
    print(f"CPU seconds to audit one post with every auditor, n = {args.size} characters")
    print(f"{'input':20} {'at n':>7} {'at 4n':>7} {'ratio':>6}  slowest auditor at 4n")
    for name, make in INPUTS.items():
        small, large = post_of(make(args.size)), post_of(make(4 * args.size))
        at_n = {auditor.name: seconds(auditor, small, context) for auditor in auditors}
        at_4n = {auditor.name: seconds(auditor, large, context) for auditor in auditors}
        total_n, total_4n = sum(at_n.values()), sum(at_4n.values())
        slowest = max(at_4n, key=at_4n.get)
        worst = max(worst, total_4n)
        print(f"{name:20} {total_n:7.3f} {total_4n:7.3f} {total_4n / max(total_n, 1e-6):6.1f}  "
              f"{slowest} {at_4n[slowest]:.3f}")
        if args.rules:
            for auditor in auditors:
                if isinstance(auditor, RuleAuditor) and at_n[auditor.name] > 0.2:
                    for spent, rule_id in slowest_rules(auditor, small.text):
                        print(f"{'':22}{auditor.name} rule {rule_id:28} {spent:8.3f}")
    print(f"slowest post of {4 * args.size} characters: {worst:.3f} CPU s (ratio near 4: linear; near 16: quadratic)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
