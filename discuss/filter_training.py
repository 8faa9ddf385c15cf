"""Teaching the learned spam filters (discuss.learning): labels, training, evaluation.

- ``note_decision`` / ``note_import`` append the label (approve or reject = not spam, spam =
  spam) as a ``SpamExample`` in the transaction that decides.
- ``train`` learns the examples a site's filter has not seen yet, after the commit: by the web
  edge once a response is ready, by the import command, by ``discuss spam-train``. Processes
  that train at once never lose an update: a model is saved only over the version it was
  loaded from, else it is loaded again and trained again. A job: it commits.
- ``evaluate`` trains a fresh model on the older part of a site's labels and measures precision
  and recall on the newer part (``discuss spam-eval``).

Never reads the request.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from discuss import trust
from discuss.extensions import begin_writes, db
from discuss.learning import Model, features, forget_model, remember_model
from discuss.models import Comment, Site, SpamExample, SpamFilter, Status, utcnow

TRAIN_BATCH = 1000
# Labels a moderator's decision gives; delete says nothing about spam.
LABELS = {Status.APPROVED: False, Status.REJECTED: False, Status.SPAM: True}
NOTED_SITES_KEY = "discuss.learn_sites"


def _note(comment: Comment, is_spam: bool, source: str) -> None:
    db.session.add(SpamExample(site_id=comment.site_id, comment_id=comment.id,
                               is_spam=is_spam, source=source, created_at=utcnow()))
    db.session.info.setdefault(NOTED_SITES_KEY, set()).add(comment.site_id)


def note_decision(comment: Comment, status: Status) -> None:
    """A moderator set a comment's status: approve and reject teach "not spam", spam teaches
    spam (learned after the commit)."""
    label = LABELS.get(status)
    if label is not None:
        _note(comment, label, "moderator")


def note_import(comment: Comment, status: Status) -> None:
    """An imported comment's status teaches the filter as a moderator's decision would."""
    label = LABELS.get(status)
    if label is not None:
        _note(comment, label, "import")


def noted_sites() -> set[int]:
    """The sites whose examples this session added (and forgets them)."""
    if not db.session.registry.has():
        return set()  # the request used no session (a cached read): nothing was noted
    return db.session.info.pop(NOTED_SITES_KEY, set())


class _Stale(Exception):
    """Another process saved the site's model first: load it and learn again."""


def _docs_for(examples: Sequence[SpamExample]) -> tuple[list[list[str]], list[bool]]:
    ids = [e.comment_id for e in examples]
    by_id = {c.id: c for c in db.session.scalars(select(Comment).where(Comment.id.in_(ids)))}
    docs, labels = [], []
    for example in examples:
        comment = by_id.get(example.comment_id)
        if comment is None:
            continue
        docs.append(features(comment.body, trust.standing_before(comment),
                             is_user=comment.user_id is not None))
        labels.append(example.is_spam)
    return docs, labels


def _learn_batch(site_id: int) -> int:
    """Learn up to TRAIN_BATCH new examples of the site and save; returns how many."""
    row = db.session.execute(select(SpamFilter.version, SpamFilter.last_example_id,
                                    SpamFilter.model)
                             .where(SpamFilter.site_id == site_id)).first()
    model = Model.from_bytes(row.model) if row is not None else None
    after = row.last_example_id if row is not None and model is not None else 0
    model = model or Model()
    examples = list(db.session.scalars(
        select(SpamExample).where(SpamExample.site_id == site_id, SpamExample.id > after)
        .order_by(SpamExample.id).limit(TRAIN_BATCH)))
    if not examples:
        db.session.rollback()
        return 0
    docs, labels = _docs_for(examples)
    model.learn(docs, labels)
    if model.classifier is None:  # every example's comment is gone
        db.session.rollback()
        return 0
    ham, spam = model.counts
    values = {"last_example_id": examples[-1].id, "ham_count": ham, "spam_count": spam,
              "model": model.to_bytes(), "updated_at": utcnow()}
    begin_writes()
    if row is None:
        try:
            with db.session.begin_nested():
                db.session.add(SpamFilter(site_id=site_id, version=1, **values))
        except IntegrityError as exc:
            raise _Stale from exc
        version = 1
    else:
        version = row.version + 1
        done = db.session.execute(
            update(SpamFilter).where(SpamFilter.site_id == site_id,
                                     SpamFilter.version == row.version)
            .values(version=version, **values).execution_options(synchronize_session=False))
        if done.rowcount != 1:
            raise _Stale
    db.session.commit()
    remember_model(site_id, version, model)
    return len(examples)


def train(site_id: int, *, attempts: int = 5) -> int:
    """Learn every example of the site the filter has not seen yet; returns how many.

    A job, like sending mail: it commits each batch itself. Run after the decisions were
    committed."""
    learned = 0
    failures = 0
    while failures < attempts:
        try:
            n = _learn_batch(site_id)
        except _Stale:
            db.session.rollback()
            failures += 1
            continue
        learned += n
        if n < TRAIN_BATCH:
            break
    return learned


def train_noted(site_ids: Iterable[int]) -> int:
    """Train the filters of these sites (those a committed request noted examples for)."""
    return sum(train(site_id) for site_id in sorted(set(site_ids)))


def sites_with_new_examples() -> list[int]:
    """Sites with examples their filter has not learned yet."""
    learned = (select(SpamFilter.last_example_id).where(SpamFilter.site_id == SpamExample.site_id)
               .scalar_subquery())
    return list(db.session.scalars(
        select(SpamExample.site_id).where(SpamExample.id > func.coalesce(learned, 0))
        .distinct().order_by(SpamExample.site_id)))


def reset(site_id: int) -> None:
    """Forget the site's model: the next ``train`` learns every example again (flushes)."""
    db.session.execute(SpamFilter.__table__.delete().where(SpamFilter.__table__.c.site_id
                                                           == site_id))
    forget_model(site_id)


# ---------------------------------------------------------------- evaluating


@dataclass(frozen=True)
class Evaluation:
    """How a filter trained on the older labels did on the newer ones."""

    trained_on: int
    tested_on: int
    spam_tested: int
    true_positives: int
    false_positives: int
    threshold: float

    @property
    def precision(self) -> float:
        flagged = self.true_positives + self.false_positives
        return self.true_positives / flagged if flagged else 1.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.spam_tested if self.spam_tested else 0.0


def labelled_examples(site: Site) -> list[tuple[Comment, bool]]:
    """Each labelled comment of the site once, with its latest label, in the order labelled."""
    latest: dict[int, SpamExample] = {}
    for example in db.session.scalars(select(SpamExample).where(SpamExample.site_id == site.id)
                                      .order_by(SpamExample.id)):
        latest.pop(example.comment_id, None)
        latest[example.comment_id] = example
    by_id = {c.id: c for c in db.session.scalars(select(Comment).where(
        Comment.site_id == site.id, Comment.id.in_(list(latest))))} if latest else {}
    return [(by_id[cid], e.is_spam) for cid, e in latest.items() if cid in by_id]


def evaluate(site: Site, *, train_share: float = 0.6,
             threshold: float | None = None) -> Evaluation:
    """Train a fresh filter on the first ``train_share`` of the site's labels (in the order
    moderators gave them) and measure it on the rest: held-out decisions, as it would have
    met them."""
    examples = labelled_examples(site)
    threshold = site.spam_threshold if threshold is None else threshold
    cut = int(len(examples) * train_share)
    train_part, test_part = examples[:cut], examples[cut:]
    docs = [features(c.body, trust.standing_before(c), is_user=c.user_id is not None)
            for c, _ in examples]
    model = Model()
    model.learn(docs[:cut], [label for _, label in train_part])
    spam_tested = sum(label for _, label in test_part)
    if not test_part or not model.is_ready:
        return Evaluation(cut, len(test_part), spam_tested, 0, 0, threshold)
    probabilities = model.probabilities(docs[cut:])
    flagged = probabilities >= threshold
    labels = np.array([label for _, label in test_part], dtype=bool)
    return Evaluation(cut, len(test_part), spam_tested, int((flagged & labels).sum()),
                      int((flagged & ~labels).sum()), threshold)
