"""Reposted and quoted text is audited like the account's own, and findings say it is reposted content."""
from __future__ import annotations

from auditors.base import AuditContext
from auditors.registry import audit_post
from auditors.text import own_text, post_texts
from records.model import Post, RepostRef
from schoolaudit.commands.classify import classify
from schoolaudit.corpus import record_to_post


def record(text: str, reposted: str | None, handle: str = "@RedBarnBrew") -> dict:
    return {"id": "r1", "platform": "x", "account": {"name": "A", "kind": "school"}, "text": text, "image_alt": [],
            "repost_of": {"handle": handle, "external": True, "text": reposted}}


def findings(engine, rec: dict) -> dict:
    post, account = record_to_post(rec)
    return {f["category"]: f for f in classify(post, account, *engine)["findings"]}


def test_an_advert_in_the_reposted_text_is_found_and_says_it_is_reposted(engine):
    found = findings(engine, record("Worth a read!", "Staff social Friday at Red Barn Brewery: first pint on us!"))
    assert set(found) == {"endorsement_repost", "substances"}
    assert found["substances"]["where"] == "repost"
    assert found["substances"]["evidence"] == "Staff social Friday at Red Barn Brewery: first pint on us!"
    assert "reposts (by @RedBarnBrew)" in found["substances"]["explanation"]


def test_a_campaign_message_in_a_quoted_post_is_found(engine):
    rec = record("Interesting.", "Vote for Jane Smith on October 24!", handle="@SmithForMayor")
    post, _ = record_to_post(rec)
    post.repost_of = RepostRef("@SmithForMayor", kind="quote", external=True, text="Vote for Jane Smith on October 24!")
    policy, auditors = engine
    political = [f for f in audit_post(post, AuditContext(policy), auditors) if f.category == "endorsement_political"]
    assert [(f.where, f.evidence) for f in political] == [("repost", "Vote for Jane Smith on October 24!")]
    assert political[0].explanation.startswith("In the post it quotes (by @SmithForMayor)")


def test_a_harmless_repost_adds_only_the_repost_flag(engine):
    found = findings(engine, record("", "Our library opens at 9 on Saturday for the book fair."))
    assert set(found) == {"endorsement_repost"}


def test_quoted_text_folded_into_the_body_is_read_once_as_the_repost():
    quoted = "First pint on us at Red Barn Brewery!"
    post = Post("a", "mastodon", "1", None, None, text=f"Great news for staff\n\n> {quoted}",
                repost_of=RepostRef("@brew", kind="quote", text=quoted))
    assert own_text(post) == "Great news for staff"
    assert post_texts(post) == [("text", "Great news for staff"), ("repost", quoted)]


def test_a_plain_repost_whose_body_is_the_reposted_text_has_no_own_text():
    post = Post("a", "x", "1", None, None, text="Vote Smith!", repost_of=RepostRef("@s", text="Vote Smith!"))
    assert post_texts(post) == [("repost", "Vote Smith!")]


def test_the_content_hash_changes_with_the_reposted_text_and_not_without_it():
    bare = Post("a", "x", "1", None, None, text="hi", repost_of=RepostRef("@s"))
    assert bare.content_hash() == Post("a", "x", "1", None, None, text="hi", repost_of=RepostRef("@s", text="")).content_hash()
    assert bare.content_hash() != Post("a", "x", "1", None, None, text="hi", repost_of=RepostRef("@s", text="x")).content_hash()


def test_sources_keep_the_reposted_text_on_the_repost():
    from crawler.sources.mastodon import status_post

    reblog = {"id": "9", "content": "<p>Vote for Jane Smith!</p>", "account": {"acct": "smith@example.social"},
              "url": "https://example.social/@smith/9", "media_attachments": []}
    post = status_post({"id": "10", "content": "", "reblog": reblog, "account": {"acct": "school"}}, "acct")
    assert post.repost_of.kind == "repost" and post.repost_of.text == "Vote for Jane Smith!"
    assert post_texts(post) == [("repost", "Vote for Jane Smith!")]
