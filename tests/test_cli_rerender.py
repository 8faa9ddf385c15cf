"""`flask discuss rerender` redoes stored HTML when the renderer changes."""

from __future__ import annotations

from discuss.extensions import db
from discuss.models import Comment
from tests.conftest import make_thread, post


def test_rerender_restores_html_that_no_longer_matches_the_renderer(runner, site):
    thread = make_thread(site)
    kept = post(thread, "*fine*")
    stale = post(thread, "**bold**")
    stale.html = "<p><b>old renderer</b><script>x</script></p>"
    db.session.commit()
    result = runner.invoke(args=["discuss", "rerender", "--batch-size", "1"])
    assert result.exit_code == 0, result.output
    assert "Rendered 2 comments; 1 changed." in result.output
    db.session.expire_all()
    assert db.session.get(Comment, stale.id).html == "<p><strong>bold</strong></p>"
    assert db.session.get(Comment, kept.id).html == "<p><em>fine</em></p>"
