"""An admin exports a site's discussions and imports them into another site."""

from __future__ import annotations

import json

from sqlalchemy import select

from discuss import comments, sites, threads
from discuss.extensions import db
from discuss.models import Comment, Status, Thread
from tests.conftest import guest, make_thread, post


def _seed(site):
    thread = make_thread(site, "jj-s2")
    top = post(thread, "Do you think *Jessica* will appear?", name="Priya")
    reply = post(thread, "Only as a cameo.", parent=top, name="Sam",
                 actor=guest("s" * 40))
    comments.set_status(post(thread, "BUY NOW", name="Spammer"), Status.SPAM)
    top.pinned = True
    db.session.commit()
    return thread, top, reply


def test_export_then_import_into_another_site_keeps_the_tree(runner, site, tmp_path):
    _seed(site)
    sites.create_site("copy", moderation="pre")
    db.session.commit()
    out = tmp_path / "demo.json"
    result = runner.invoke(args=["discuss", "export", "demo", "-o", str(out)])
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text())
    assert document["format"] == "discuss-export"
    assert [c["name"] for c in document["threads"][0]["comments"]] == ["Priya", "Sam", "Spammer"]

    result = runner.invoke(args=["discuss", "import", "copy", str(out)])
    assert result.exit_code == 0, result.output
    assert "Imported from discuss: 1 thread (1 new), 3 comments (2 approved, 1 spam)." \
        in result.output
    copy = threads.get_site("copy")
    thread = db.session.scalar(select(Thread).where(Thread.site_id == copy.id))
    assert thread.comment_count == 2
    imported = db.session.scalars(select(Comment).where(Comment.thread_id == thread.id)
                                  .order_by(Comment.id)).all()
    assert [c.status for c in imported] == [Status.APPROVED, Status.APPROVED, Status.SPAM]
    assert imported[1].parent_id == imported[0].id
    assert imported[0].pinned is True
    assert imported[0].html == "<p>Do you think <em>Jessica</em> will appear?</p>"


def test_a_reply_whose_parent_is_missing_becomes_top_level_and_is_counted(runner, site,
                                                                          tmp_path):
    document = {"format": "discuss-export", "version": 1, "site": "x", "threads": [
        {"key": "good", "comments": [{"id": 1, "parent_id": None, "name": "A", "body": "ok",
                                      "status": "approved",
                                      "created_at": "2026-01-01T00:00:00+00:00"}]},
        {"key": "odd", "comments": [
            {"id": 2, "parent_id": None, "name": "A", "body": "fine", "status": "approved",
             "created_at": "2026-01-01T00:00:00+00:00"},
            {"id": 3, "parent_id": 99, "name": "B", "body": "orphan", "status": "approved",
             "created_at": "2026-01-01T00:00:00+00:00"}]},
    ]}
    path = tmp_path / "in.json"
    path.write_text(json.dumps(document))
    result = runner.invoke(args=["discuss", "import", "demo", str(path)])
    assert result.exit_code == 0, result.output
    assert "1 comment without a parent became top level." in result.output
    assert sorted(db.session.scalars(select(Thread.key)).all()) == ["good", "odd"]
    orphan = db.session.scalar(select(Comment).where(Comment.guest_name == "B"))
    assert orphan.parent_id is None

    again = runner.invoke(args=["discuss", "import", "demo", str(path)])
    assert "0 comments." in again.output
    assert db.session.query(Comment).count() == 3


def test_import_refuses_files_that_are_not_exports(runner, site, tmp_path):
    path = tmp_path / "x.json"
    for content, message in [("{not json", "not valid JSON"),
                             ('{"format": "isso"}', "not a discuss export"),
                             ('{"format": "discuss-export", "version": 9}', "Unsupported")]:
        path.write_text(content)
        result = runner.invoke(args=["discuss", "import", "demo", str(path)])
        assert result.exit_code != 0
        assert message in result.output
    assert db.session.query(Comment).count() == 0


def test_a_big_export_is_read_thread_by_thread_whatever_its_layout(runner, site, tmp_path,
                                                                  monkeypatch):
    from discuss.importers import native

    thread = make_thread(site, "a")
    for n in range(30):
        post(threads.get_or_create_thread(site, f"t{n}", "https://news.example.com/x", "T"),
             f'Comment {n} with "quotes", [brackets] and {{braces}}', name=f"N{n}")
    post(thread, "Top", name="Top")
    db.session.commit()
    out = tmp_path / "demo.json"
    assert runner.invoke(args=["discuss", "export", "demo", "-o", str(out)]).exit_code == 0
    document = json.loads(out.read_text())
    sites.create_site("copy")
    sites.create_site("pretty")
    sites.create_site("shuffled")
    db.session.commit()
    monkeypatch.setattr(native, "CHUNK", 37)  # every thread straddles reads
    pretty = tmp_path / "pretty.json"
    pretty.write_text(json.dumps(document, indent=2))
    shuffled = tmp_path / "shuffled.json"  # "threads" first: read whole
    shuffled.write_text(json.dumps({"threads": document["threads"], "format": "discuss-export",
                                    "version": 1, "site": "demo"}))
    for slug, path in [("copy", out), ("pretty", pretty), ("shuffled", shuffled)]:
        result = runner.invoke(args=["discuss", "import", slug, str(path)])
        assert result.exit_code == 0, result.output
        assert "Imported from discuss: 31 threads (31 new), 31 comments (31 approved)." \
            in result.output
        copy = threads.get_site(slug)
        bodies = db.session.scalars(select(Comment.body).where(Comment.site_id == copy.id)).all()
        assert 'Comment 7 with "quotes", [brackets] and {braces}' in bodies


def test_an_export_cut_inside_its_threads_writes_nothing(runner, site, tmp_path):
    thread = make_thread(site, "a")
    post(thread, "One", name="A")
    db.session.commit()
    out = tmp_path / "demo.json"
    assert runner.invoke(args=["discuss", "export", "demo", "-o", str(out)]).exit_code == 0
    sites.create_site("copy")
    db.session.commit()
    out.write_text(out.read_text()[:-20])
    result = runner.invoke(args=["discuss", "import", "copy", str(out)])
    assert result.exit_code != 0
    assert "demo.json: " in result.output
    assert "not valid JSON" in result.output
    assert db.session.scalar(select(Comment.id).where(
        Comment.site_id == threads.get_site("copy").id)) is None
