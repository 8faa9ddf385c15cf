"""The learned spam filter: one per site, trained from its moderators' decisions, local.

Owns the features of a comment (its words, its links' hosts and domains, and its author's
standing on the site), the classifier (scikit-learn's multinomial naive Bayes over hashed
features: it learns exactly as much from examples given one at a time as all at once, and from
the first few), its storage (counts in ``spam_filters``, versioned) and its use:

- ``judge`` scores a new or edited comment while the spam rules run: a hashing transform and a
  dot product with a model kept in memory, after one indexed read of the model's version; at or
  over the site's threshold the comment goes to the spam queue with the filter named as reason.
- ``note_decision`` / ``note_import`` append the label (approve or reject = not spam, spam =
  spam) as a ``SpamExample`` in the transaction that decides; ``train`` learns the examples a
  site's filter has not seen yet (after the commit: by the web edge once a response is ready,
  by the import command, by ``discuss spam-train``). Processes that train at once never lose an
  update: a model is saved only over the version it was loaded from, else it is trained again.
- ``evaluate`` trains a fresh model on the older part of a site's labels and measures precision
  and recall on the newer part (``discuss spam-eval``).

No reader's text leaves the machine. Never reads the request.
"""

from __future__ import annotations

import io
import logging
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import numpy as np
from scipy import sparse
from scipy.special import expit
from sklearn.feature_extraction import FeatureHasher
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
from sklearn.naive_bayes import MultinomialNB
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError

from discuss import trust
from discuss.extensions import begin_writes, db
from discuss.models import Comment, Site, SpamExample, SpamFilter, Status, utcnow
from discuss.permissions import Actor
from discuss.spam import SPAM, Verdict, fold

log = logging.getLogger(__name__)

# Bump when the features or the stored form change: a stored model of another format is
# dropped and the site's filter learns all its examples again.
FORMAT = 1
N_FEATURES = 2**17  # 128 K hashed features: few collisions for one site's vocabulary
ALPHA = 0.1  # additive smoothing; chosen on the SpamAssassin corpus (docs/moderation-learning.md)
DEFAULT_THRESHOLD = 0.9
TOP_WORDS = 5
TRAIN_BATCH = 1000
CACHED_MODELS = 16
# Labels a moderator's decision gives; delete says nothing about spam.
LABELS = {Status.APPROVED: False, Status.REJECTED: False, Status.SPAM: True}
NOTED_SITES_KEY = "discuss.learn_sites"

_WORD = re.compile(r"[^\W_]{2,30}")
_URL = re.compile(r"(?i)\b(?:https?://|ftp://|www\.)[^\s<>\"'()\[\]]+")
_HASHER = FeatureHasher(n_features=N_FEATURES, input_type="string", alternate_sign=False)


# ---------------------------------------------------------------- features


def _link_tokens(url: str) -> list[str]:
    try:
        host = urlsplit(url if "://" in url else "http://" + url).hostname or ""
    except ValueError:
        return ["link:bad"]
    if not host:
        return ["link:bad"]
    labels = host.split(".")
    return [f"host:{host}", f"domain:{'.'.join(labels[-2:])}", f"tld:{labels[-1]}"]


def _link_bucket(n: int) -> str:
    return "links:" + ("0" if n == 0 else "1" if n == 1 else "2-3" if n < 4 else "4+")


def _author_tokens(standing: trust.Standing, is_user: bool) -> list[str]:
    tokens = ["author:user" if is_user else "author:guest"]
    if not standing.known:
        return [*tokens, "author:unknown"]
    approved = standing.approved
    tokens.append("author:approved:" + ("0" if approved == 0 else "1" if approved == 1
                                        else "2-4" if approved < 5 else "5+"))
    tokens.append("author:spam:" + ("0" if standing.spam == 0 else "1+"))
    return tokens


def features(body: str, standing: trust.Standing, *, is_user: bool) -> list[str]:
    """A comment as the filter sees it: its words (folded, English stop words left out), the
    hosts, domains and top-level domains it links to, how many links, and its author's
    standing on the site."""
    urls = _URL.findall(body)
    tokens: list[str] = []
    for url in urls:
        tokens.extend(_link_tokens(url))
    tokens.append(_link_bucket(len(urls)))
    tokens.extend(_author_tokens(standing, is_user))
    words = _WORD.findall(fold(_URL.sub(" ", body)))
    tokens.extend(w for w in words if w not in ENGLISH_STOP_WORDS)
    return tokens


# ---------------------------------------------------------------- the model


@dataclass(frozen=True)
class Score:
    """The filter's opinion of one comment: the spam probability and the features that
    pushed it furthest towards spam, strongest first."""

    probability: float
    words: list[str]


class Model:
    """A site's classifier: scikit-learn's MultinomialNB over hashed features, with what it
    has seen. Features it never saw carry no evidence either way (a new word is no hint)."""

    def __init__(self, classifier: MultinomialNB | None = None) -> None:
        self.classifier = classifier
        self._delta: np.ndarray | None = None
        self._bias = 0.0

    @property
    def counts(self) -> tuple[int, int]:
        """(not spam, spam) examples learned."""
        if self.classifier is None:
            return 0, 0
        ham, spam = self.classifier.class_count_
        return round(float(ham)), round(float(spam))

    @property
    def is_ready(self) -> bool:
        """It has seen at least one example of each kind: before that it would call
        everything spam (or nothing)."""
        ham, spam = self.counts
        return ham > 0 and spam > 0

    def learn(self, docs: Sequence[list[str]], labels: Sequence[bool]) -> None:
        if not docs:
            return
        if self.classifier is None:
            self.classifier = MultinomialNB(alpha=ALPHA)
        self.classifier.partial_fit(_HASHER.transform(docs), np.array(labels, dtype=int),
                                    classes=np.array([0, 1]))
        self._delta = None

    def _linear(self) -> tuple[np.ndarray, float]:
        """The classifier as a linear model: per feature, how much more likely it is in spam
        than in the rest (log ratio, 0 for features never seen), and the same for the
        classes' priors. Naive Bayes with two classes is exactly this, so scoring is a
        hashing transform and a dot product."""
        if self._delta is None:
            classifier = self.classifier
            seen = classifier.feature_count_.sum(axis=0) > 0
            log_prob = classifier.feature_log_prob_
            self._delta = np.where(seen, log_prob[1] - log_prob[0], 0.0)
            self._bias = float(classifier.class_log_prior_[1] - classifier.class_log_prior_[0])
        return self._delta, self._bias

    def probabilities(self, docs: Sequence[list[str]]) -> np.ndarray:
        """The spam probability of each document."""
        delta, bias = self._linear()
        return expit(_HASHER.transform(docs) @ delta + bias)

    def score(self, tokens: list[str], *, explain: bool = True) -> Score:
        probability = float(self.probabilities([tokens])[0])
        return Score(probability, self.weighed_most(tokens) if explain else [])

    def weighed_most(self, tokens: list[str], n: int = TOP_WORDS) -> list[str]:
        """The document's features that pushed hardest towards spam (count × log ratio)."""
        delta, _ = self._linear()
        counts = Counter(tokens)
        names = list(counts)
        columns = _HASHER.transform([[name] for name in names]).tocsr().indices
        weights = [(counts[name] * float(delta[column]), name)
                   for name, column in zip(names, columns, strict=True)]
        weights = sorted((w for w in weights if w[0] > 0), key=lambda w: (-w[0], w[1]))
        return [name for _, name in weights[:n]]

    def to_bytes(self) -> bytes:
        """The counts, stored sparsely (no pickle: loading runs no code)."""
        feature_count = self.classifier.feature_count_
        columns = np.flatnonzero(feature_count.sum(axis=0))
        buffer = io.BytesIO()
        np.savez_compressed(buffer, format=np.array([FORMAT, N_FEATURES]),
                            class_count=self.classifier.class_count_,
                            columns=columns.astype(np.int32),
                            counts=feature_count[:, columns])
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes) -> Model | None:
        """The stored model, or None when it was stored in another format."""
        with np.load(io.BytesIO(blob), allow_pickle=False) as stored:
            if list(stored["format"]) != [FORMAT, N_FEATURES]:
                return None
            class_count = stored["class_count"]
            columns, counts = stored["columns"], stored["counts"]
        # Replayed through partial_fit: one row per class holding its per-example mean,
        # weighted by its example count, gives back exactly the counts that were stored.
        rows = np.zeros((2, len(columns)))
        for label in (0, 1):
            if class_count[label]:
                rows[label] = counts[label] / class_count[label]
        matrix = sparse.csr_matrix(
            (rows.ravel(), np.tile(columns, 2), [0, len(columns), 2 * len(columns)]),
            shape=(2, N_FEATURES))
        classifier = MultinomialNB(alpha=ALPHA)
        classifier.partial_fit(matrix, np.array([0, 1]), classes=np.array([0, 1]),
                               sample_weight=np.asarray(class_count, dtype=float))
        return cls(classifier)


# Each process keeps the models it used last, by site, with the version they were loaded at.
_models: OrderedDict[int, tuple[int, Model]] = OrderedDict()
_models_lock = threading.Lock()


def _remember(site_id: int, version: int, model: Model) -> None:
    with _models_lock:
        _models[site_id] = (version, model)
        _models.move_to_end(site_id)
        while len(_models) > CACHED_MODELS:
            _models.popitem(last=False)


# Prebuilt: every post on a site with the filter on asks.
_VERSION_OF = select(SpamFilter.version).where(SpamFilter.site_id == bindparam("site_id"))


def current_model(site_id: int) -> Model | None:
    """The site's model as last saved (one indexed read when this process has it already)."""
    # A plain Core read on the session's connection: nothing to flush, no ORM entity built.
    version = db.session.connection().scalar(_VERSION_OF, {"site_id": site_id})
    if version is None:
        return None
    with _models_lock:
        cached = _models.get(site_id)
    if cached is not None and cached[0] == version:
        return cached[1]
    row = db.session.execute(select(SpamFilter.version, SpamFilter.model)
                             .where(SpamFilter.site_id == site_id)).first()
    if row is None:
        return None
    model = Model.from_bytes(row.model)
    if model is None:
        return None
    _remember(site_id, row.version, model)
    return model


# ---------------------------------------------------------------- using it


def score_comment(model: Model, comment: Comment, standing: trust.Standing) -> Score:
    return model.score(features(comment.body, standing, is_user=comment.user_id is not None))


def judge(site: Site, actor: Actor, body: str, verdict: Verdict, *, email_key: str,
          now: datetime) -> None:
    """Send a comment the site's filter finds likely spam to the spam queue (a reason in the
    verdict naming the filter, the probability and the words that weighed most)."""
    if not site.spam_filter or verdict.action == SPAM or actor.moderates(site):
        return
    model = current_model(site.id)
    if model is None or not model.is_ready:
        return
    standing = trust.standing(site, actor, email_key, now=now)
    tokens = features(body, standing, is_user=actor.user is not None)
    probability = float(model.probabilities([tokens])[0])
    if probability >= site.spam_threshold:
        words = model.weighed_most(tokens)
        verdict.hold(SPAM, "learned_filter",
                     f"spam probability {probability:.2f}"
                     + (f"; words that weighed most: {', '.join(words)}" if words else ""))


# ---------------------------------------------------------------- learning


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
    _remember(site_id, version, model)
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
        select(SpamExample.site_id).where(SpamExample.id > db.func.coalesce(learned, 0))
        .distinct().order_by(SpamExample.site_id)))


def reset(site_id: int) -> None:
    """Forget the site's model: the next ``train`` learns every example again (flushes)."""
    db.session.execute(SpamFilter.__table__.delete().where(SpamFilter.__table__.c.site_id
                                                           == site_id))
    with _models_lock:
        _models.pop(site_id, None)


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
