from tests.conftest import make_thread, post


def test_guest_comment_appears_in_thread_json(client, site):
    thread = make_thread(site)
    post(thread, "Do you think *Jessica Jones* will appear?")
    from discuss.extensions import db
    db.session.commit()
    data = client.get("/api/v1/threads?site=demo&key=article-1").get_json()
    assert data["comments"][0]["html"] == "<p>Do you think <em>Jessica Jones</em> will appear?</p>"
    assert data["thread"]["comment_count"] == 1
