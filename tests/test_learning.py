"""The learned spam filter: trained by each site's moderators, per site, switchable, explained."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from discuss import comments, filter_training, learning, sites, threads
from discuss.extensions import db
from discuss.models import SpamFilter, Status, utcnow
from tests.accounts_helpers import make_user
from tests.conftest import guest, make_thread
from tests.test_moderation import token_for

HAM = [
    "I liked this article, thanks for writing it.",
    "The second point about the budget is wrong, I think.",
    "Great interview with the mayor, more of these please.",
    "Does anyone know when the next episode airs?",
    "I disagree, the team played well last night.",
]
SPAM = [
    "Cheap replica watches at http://watches.example.biz buy now",
    "Best replica watches, huge discount http://watches.example.biz/deal",
    "Replica watches for sale, visit http://shop.watches.example.biz",
]
NEXT_SPAM = "Luxury replica watches today only http://watches.example.biz/new"
NEXT_HAM = "I think the interview was the best part of the article."


@pytest.fixture
def mod(app):
    return make_user("mod", is_admin=True, verified=True)


_guests = iter(range(10**6))


def new_site(slug: str, moderation: str = "pre"):
    site = sites.create_site(slug, origins=["https://news.example.com"], moderation=moderation)
    db.session.commit()
    return site


def post_as_guest(site, body: str):
    """A comment by a guest nobody has seen before (its own browser and address)."""
    n = next(_guests)
    comment = comments.post_comment(site.slug, make_thread(site).key,
                                    guest(key=f"{n:040d}", ip=f"ip-{n}"), body, name=f"Guest {n}",
                                    now=utcnow() - timedelta(minutes=30) + timedelta(seconds=n))
    db.session.commit()
    return comment


def decide(client, headers, site, bodies, action: str) -> None:
    """A moderator acts on fresh comments through the moderation API, as people do."""
    ids = [post_as_guest(site, body).id for body in bodies]
    response = client.post("/api/v1/moderation/actions", headers=headers,
                           json={"ids": ids, "action": action})
    assert response.status_code == 200
    assert response.get_json()["ok"] == len(ids)


def assert_waits_for_a_moderator(site, body: str) -> None:
    """A new comment waits in the pending queue, with no word from the filter."""
    comment = post_as_guest(site, body)
    assert comment.status == Status.PENDING
    assert comment.held_reasons == []


def teach(client, headers, site, *, spam=SPAM, ham=HAM) -> None:
    decide(client, headers, site, ham, "approve")
    decide(client, headers, site, spam, "spam")


def test_a_site_that_marks_a_pattern_spam_a_few_times_catches_the_next_one(client, app, mod):
    site = new_site("news")
    teach(client, token_for(mod), site)
    caught = post_as_guest(site, NEXT_SPAM)
    assert caught.status == Status.SPAM
    [reason] = caught.held_reasons
    assert reason["rule"] == "learned_filter"
    assert "replica" in reason["detail"]
    assert post_as_guest(site, NEXT_HAM).status == Status.PENDING


def test_a_site_that_approves_the_pattern_does_not_catch_it(client, app, mod):
    site = new_site("watch-fans")
    # Here watches are the topic: the moderators approve them and mark something else spam.
    teach(client, token_for(mod), site, ham=SPAM + HAM,
          spam=["Win a free casino bonus at http://casino.example.net now",
                "Casino bonus, free spins: http://casino.example.net/spins"])
    assert_waits_for_a_moderator(site, NEXT_SPAM)


def test_another_site_is_not_affected(client, app, mod):
    trained, untouched = new_site("trained"), new_site("untouched")
    teach(client, token_for(mod), trained)
    assert_waits_for_a_moderator(untouched, NEXT_SPAM)


def test_a_site_that_switches_the_filter_off_gets_nothing_from_it(client, app, mod, runner):
    site = new_site("quiet")
    teach(client, token_for(mod), site)
    result = runner.invoke(args=["discuss", "site-settings", "quiet", "--no-spam-filter"])
    assert result.exit_code == 0, result.output
    assert "  spam_filter: off" in result.output
    assert_waits_for_a_moderator(site, NEXT_SPAM)


def test_the_threshold_decides_what_is_caught(client, app, mod, runner):
    site = new_site("strict")
    teach(client, token_for(mod), site)
    probability = learning.current_model(site.id).score(learning.features(
        NEXT_SPAM, learning.trust.UNKNOWN, is_user=False)).probability
    assert probability < 1.0
    result = runner.invoke(args=["discuss", "site-settings", "strict", "--spam-threshold", "1"])
    assert result.exit_code == 0, result.output
    assert post_as_guest(site, NEXT_SPAM).status == Status.PENDING
    for bad in ("0.2", "1.5", "lots", "nan"):
        refused = runner.invoke(args=["discuss", "site-settings", "strict",
                                      "--spam-threshold", bad])
        assert refused.exit_code != 0
        assert "spam threshold must be a probability" in refused.output


def test_the_filter_is_quiet_until_it_has_seen_both_kinds(client, app, mod):
    site = new_site("fresh")
    decide(client, token_for(mod), site, SPAM, "spam")  # no "not spam" decision yet
    assert post_as_guest(site, NEXT_HAM).status == Status.PENDING
    assert post_as_guest(site, NEXT_SPAM).status == Status.PENDING


def test_the_spam_queue_shows_the_probability_and_the_words_that_weighed_most(client, app,
                                                                               mod):
    site = new_site("news")
    headers = token_for(mod)
    teach(client, headers, site)
    caught = post_as_guest(site, NEXT_SPAM)
    post_as_guest(site, NEXT_HAM)
    response = client.get("/api/v1/moderation/queue?site=news&queue=spam", headers=headers)
    items = {i["comment"]["id"]: i for i in response.get_json()["items"]}
    score = items[caught.id]["spam_score"]
    assert score["probability"] >= 0.9
    assert "replica" in score["words"]
    pending = client.get("/api/v1/moderation/queue?site=news&queue=pending",
                         headers=headers).get_json()["items"]
    [calm] = [i for i in pending if i["comment"]["body"] == NEXT_HAM]
    assert calm["spam_score"]["probability"] < 0.5

    page = client.get("/moderate/news/spam", headers=headers).get_data(as_text=True)
    assert "likely spam" in page
    assert "<code>replica</code>" in page
    assert "learned_filter" in page


def test_an_edit_that_brings_in_the_pattern_goes_to_the_spam_queue(client, app, mod):
    site = new_site("news")
    headers = token_for(mod)
    teach(client, headers, site)
    author = guest(key="e" * 40, ip="ip-editor")
    thread = make_thread(site)
    comment = comments.post_comment(site.slug, thread.key, author, "A harmless first comment.",
                                    name="Ed")
    db.session.commit()
    client.post("/api/v1/moderation/actions", headers=headers,
                json={"ids": [comment.id], "action": "approve"})
    db.session.refresh(comment)
    assert comment.status == Status.APPROVED
    comments.edit_comment(comment, author, NEXT_SPAM)
    db.session.commit()
    assert comment.status == Status.SPAM
    assert comment.held_reasons[0]["rule"] == "learned_filter"


def test_the_model_is_kept_in_the_database_for_every_process(client, app, mod):
    site = new_site("news")
    teach(client, token_for(mod), site)
    row = db.session.scalar(select(SpamFilter).where(SpamFilter.site_id == site.id))
    assert (row.ham_count, row.spam_count) == (len(HAM), len(SPAM))
    learning.forget_model(site.id)  # another process: nothing in memory, only the database
    assert post_as_guest(site, NEXT_SPAM).status == Status.SPAM


def test_two_processes_training_at_once_lose_no_decision(client, app, mod, monkeypatch):
    site = new_site("news")
    headers = token_for(mod)
    teach(client, headers, site)
    decide_ids = [post_as_guest(site, body).id for body in ("More replica watches here",
                                                            "A kind word for the editor")]
    db.session.commit()
    comments.get_comment(decide_ids[0])
    from discuss import moderation
    from discuss.permissions import Actor

    moderation.act_on_comments([decide_ids[0]], "spam", Actor(user=mod))
    moderation.act_on_comments([decide_ids[1]], "approve", Actor(user=mod))
    db.session.commit()
    saved = learning.Model.to_bytes
    raced = []

    def another_process_saves_first(self):
        # While this process learns, another one saves the same site's model (a new version).
        if not raced:
            raced.append(True)
            with db.engine.begin() as other:
                other.execute(update(SpamFilter).where(SpamFilter.site_id == site.id)
                              .values(version=SpamFilter.version + 1))
        return saved(self)

    monkeypatch.setattr(learning.Model, "to_bytes", another_process_saves_first)
    assert filter_training.train(site.id) == 2
    row = db.session.scalar(select(SpamFilter).where(SpamFilter.site_id == site.id))
    db.session.refresh(row)
    # Learned once each, over the other process's version rather than in its place.
    assert (row.ham_count, row.spam_count) == (len(HAM) + 1, len(SPAM) + 1)
    assert row.version == 4  # teach: 2 saves; the other process: 1; this one: 1


def test_imported_statuses_teach_the_filter(app, runner, tmp_path):
    site = new_site("moved", moderation="pre")
    items = [{"id": n, "parent_id": None, "name": f"Someone {n}", "email": None,
              "body": body, "status": status, "created_at": "2020-01-01T10:00:00+00:00"}
             for n, (body, status) in enumerate(
                 [(b, "approved") for b in HAM] + [(b, "spam") for b in SPAM])]
    export = tmp_path / "export.json"
    export.write_text(json.dumps({"format": "discuss-export", "version": 1, "site": "old",
                                  "threads": [{"key": "old-article", "url": "", "title": "Old",
                                               "closed": False, "comments": items}]}))
    result = runner.invoke(args=["discuss", "import", "moved", str(export)])
    assert result.exit_code == 0, result.output
    assert post_as_guest(site, NEXT_SPAM).status == Status.SPAM
    assert post_as_guest(site, NEXT_HAM).status == Status.PENDING


def test_spam_eval_reports_precision_and_recall_on_held_out_decisions(client, app, mod, runner):
    site = new_site("news")
    headers = token_for(mod)
    # Posted first, decided later: none met a filter trained on the others.
    rounds = [([post_as_guest(site, f"{body} (round {n})").id for body in HAM],
               [post_as_guest(site, f"{body} round {n}").id for body in SPAM]) for n in range(4)]
    for ham, spam in rounds:
        for ids, action in ((ham, "approve"), (spam, "spam")):
            response = client.post("/api/v1/moderation/actions", headers=headers,
                                   json={"ids": ids, "action": action})
            assert response.get_json()["ok"] == len(ids)
    result = runner.invoke(args=["discuss", "spam-eval", "news"])
    assert result.exit_code == 0, result.output
    assert "trained on 19 decision(s), tested on 13 (6 spam)" in result.output
    assert "precision: 1.000" in result.output
    assert "recall:    1.000" in result.output
    unknown = runner.invoke(args=["discuss", "spam-eval", "nope"])
    assert unknown.exit_code != 0
    assert "No such site" in unknown.output


def test_spam_train_rebuilds_a_filter_from_every_decision(client, app, mod, runner):
    site = new_site("news")
    teach(client, token_for(mod), site)
    result = runner.invoke(args=["discuss", "spam-train", "news", "--rebuild"])
    assert result.exit_code == 0, result.output
    assert f"Learned {len(HAM) + len(SPAM)} decision(s) in 1 site(s)." in result.output
    row = db.session.scalar(select(SpamFilter).where(SpamFilter.site_id == site.id))
    assert (row.ham_count, row.spam_count) == (len(HAM), len(SPAM))
    again = runner.invoke(args=["discuss", "spam-train"])
    assert "Learned 0 decision(s) in 0 site(s)." in again.output


def test_a_filter_stored_in_another_format_is_ignored_then_relearned(client, app, mod):
    import io

    import numpy as np

    site = new_site("news")
    headers = token_for(mod)
    teach(client, headers, site)
    old = io.BytesIO()
    np.savez_compressed(old, format=np.array([learning.FORMAT - 1, learning.N_FEATURES]))
    db.session.execute(update(SpamFilter).where(SpamFilter.site_id == site.id)
                       .values(model=old.getvalue(), version=SpamFilter.version + 1))
    db.session.commit()
    learning.forget_model(site.id)
    assert_waits_for_a_moderator(site, NEXT_SPAM)  # an unreadable model holds nothing
    decide(client, headers, site, ["One more kind word."], "approve")  # the next training
    row = db.session.scalar(select(SpamFilter).where(SpamFilter.site_id == site.id))
    db.session.refresh(row)
    assert (row.ham_count, row.spam_count) == (len(HAM) + 1, len(SPAM))
    assert post_as_guest(site, NEXT_SPAM).status == Status.SPAM


def test_decisions_made_at_once_are_each_learned_exactly_once(tmp_path):
    """Moderators acting at the same moment (one server, eight connections): every request
    trains the site's filter after its commit, they race to save it, none overwrites another."""
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor

    from discuss import accounts
    from discuss.models import SpamExample
    from tests.browser.conftest import start_service

    service, stop = start_service(tmp_path)
    try:
        def prepare() -> tuple[str, list[int]]:
            site = sites.create_site("busy", moderation="pre")
            user = accounts.create_user("boss", "boss@example.org", "violet-harbor-lantern-42",
                                        is_admin=True, verified=True)
            raw, _ = accounts.create_api_token(user, "test", days=1)
            thread = make_thread(site)
            ids = [comments.post_comment(site.slug, thread.key,
                                         guest(key=f"{n:040d}", ip=f"ip-{n}"),
                                         f"Comment {n}: {(SPAM + HAM)[n % 8]}", name="G").id
                   for n in range(48)]
            return raw, ids

        token, ids = service.run(prepare)

        def act(batch: int) -> int:
            chunk = ids[batch * 6:(batch + 1) * 6]
            action = "spam" if batch % 2 else "approve"
            request = urllib.request.Request(
                service.url + "/api/v1/moderation/actions", method="POST",
                data=json.dumps({"ids": chunk, "action": action}).encode(),
                headers={"Content-Type": "application/json",
                         "Authorization": f"Bearer {token}"})
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status

        with ThreadPoolExecutor(max_workers=8) as pool:
            assert list(pool.map(act, range(8))) == [200] * 8

        def stored() -> tuple[int, int, int]:
            row = db.session.scalar(select(SpamFilter))
            learned = db.session.scalar(select(db.func.count()).select_from(SpamExample)
                                        .where(SpamExample.id <= row.last_example_id))
            return row.ham_count + row.spam_count, learned, row.version

        counted, learned, version = service.run(stored)
        assert counted == learned > 0  # nothing learned twice, nothing skipped
        assert version >= 1
        service.run(lambda: filter_training.train(threads.get_site("busy").id))
        counted, learned, _ = service.run(stored)
        assert counted == learned == 48  # and whatever a lost race left is learned later
    finally:
        stop()


# ---------------------------------------------------------------- a worker that only serves


def test_a_stored_model_scores_exactly_as_scikit_learns_classifier(app):
    import numpy as np
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
    from sklearn.utils import murmurhash3_32

    docs = [learning.features(text, learning.trust.UNKNOWN, is_user=n % 2 == 0)
            for n, text in enumerate(HAM + SPAM + ["Ünïcödé wörds 日本語 naïve café"])]
    labels = [False] * len(HAM) + [True] * len(SPAM) + [False]
    trained = learning.Model()
    trained.learn(docs, labels)
    loaded = learning.Model.from_bytes(trained.to_bytes())

    # Scoring a stored model builds no classifier (scikit-learn is not needed to judge).
    for doc in [*docs, learning.features(NEXT_SPAM, learning.trust.UNKNOWN, is_user=False),
                learning.features(NEXT_HAM, learning.trust.UNKNOWN, is_user=False)]:
        assert loaded.score(doc) == trained.score(doc)
    assert loaded._classifier is None
    assert loaded.counts == trained.counts == (len(HAM) + 1, len(SPAM))
    # The same log ratios as the classifier replayed from storage, bit for bit.
    delta, bias = loaded._linear()
    replayed = loaded.classifier
    log_prob = replayed.feature_log_prob_
    seen = replayed.feature_count_.sum(axis=0) > 0
    assert np.array_equal(delta, np.where(seen, log_prob[1] - log_prob[0], 0.0))
    assert bias == float(replayed.class_log_prior_[1] - replayed.class_log_prior_[0])
    # The same hashing and stop words as scikit-learn's.
    tokens = [t for doc in docs for t in doc]
    assert list(learning.columns(tokens)) == [
        murmurhash3_32(t, seed=0, positive=True) % learning.N_FEATURES for t in tokens]
    assert learning.stop_words() == ENGLISH_STOP_WORDS
    # A loaded model learns on: its classifier comes back from the counts.
    loaded.learn([learning.features(NEXT_SPAM, learning.trust.UNKNOWN, is_user=False)], [True])
    assert loaded.counts == (len(HAM) + 1, len(SPAM) + 1)


def test_judging_comments_never_imports_scikit_learn(tmp_path):
    """A worker that serves (reading, posting, judging with a stored model) stays without
    scikit-learn and SciPy: about 90 MB less per worker."""
    script = f"""
import sys
from discuss import create_app, learning, sites, comments, filter_training
from discuss.extensions import db
app = create_app({{"DISCUSS_DATABASE_URL": "sqlite:///{tmp_path}/d.sqlite3",
                  "DISCUSS_SECRET_KEY": "x" * 40, "DISCUSS_RATELIMIT_ENABLED": False}})
print("AT START", sorted({{m.split(".")[0] for m in sys.modules}} & {{"sklearn", "scipy"}}))
with app.app_context():
    db.create_all()
    site = sites.create_site("demo", origins=["https://news.example.com"], moderation="post")
    site.spam_filter = True
    db.session.commit()
    model = learning.Model()
    model.learn([["cheap", "watches"], ["nice", "article"]], [True, False])
    blob = model.to_bytes()
for name in [m for m in sys.modules if m.startswith(("sklearn", "scipy"))]:
    del sys.modules[name]
learning.forget_model(1)
with app.app_context():
    db.session.add(learning.SpamFilter(site_id=1, version=1, model=blob, ham_count=1,
                                       spam_count=1, last_example_id=0))
    db.session.commit()
    from discuss.permissions import Actor
    comment = comments.post_comment("demo", "a", Actor(guest_key="k" * 40, ip_hash="i"),
                                    "cheap watches cheap watches", None, name="G")
    db.session.commit()
    assert learning.current_model(1).is_ready
    print("STATUS", comment.status)
print("LOADED", sorted({{m.split(".")[0] for m in sys.modules}} & {{"sklearn", "scipy"}}))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=False, timeout=120)
    assert "AT START []" in out.stdout, out.stdout + out.stderr
    assert "LOADED []" in out.stdout, out.stdout + out.stderr
    assert "STATUS spam" in out.stdout, out.stdout + out.stderr
