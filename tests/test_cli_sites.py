"""`flask discuss create-site` as an admin runs it."""

from __future__ import annotations

from sqlalchemy import select

from discuss.extensions import db
from discuss.models import ModerationPolicy, Site


def test_create_site_with_origins_policy_and_no_guests(runner):
    result = runner.invoke(args=["discuss", "create-site", "news", "--origin",
                                 "https://News.Example.com/", "--origin", "http://localhost:8000",
                                 "--moderation", "pre", "--no-guests"])
    assert result.exit_code == 0, result.output
    site = db.session.scalar(select(Site).where(Site.slug == "news"))
    assert site.origins == ["https://news.example.com", "http://localhost:8000"]
    assert site.moderation == ModerationPolicy.PRE
    assert site.allow_guests is False


def test_create_site_defaults_to_first_policy(runner):
    assert runner.invoke(args=["discuss", "create-site", "blog"]).exit_code == 0
    site = db.session.scalar(select(Site).where(Site.slug == "blog"))
    assert site.moderation == ModerationPolicy.FIRST
    assert site.allow_guests is True


def test_create_site_refuses_bad_slug_origin_and_duplicates(runner):
    bad_slug = runner.invoke(args=["discuss", "create-site", "Bad Slug!"])
    assert bad_slug.exit_code != 0
    assert "slug" in bad_slug.output
    bad_origin = runner.invoke(args=["discuss", "create-site", "x", "--origin", "news.example"])
    assert bad_origin.exit_code != 0
    assert "origin" in bad_origin.output
    assert runner.invoke(args=["discuss", "create-site", "dup"]).exit_code == 0
    again = runner.invoke(args=["discuss", "create-site", "dup"])
    assert again.exit_code != 0
    assert "exists" in again.output
    assert db.session.query(Site).count() == 1
