"""The learned spam filter: one per site, trained from its moderators' decisions, local.

Owns the features of a comment (its words, its links' hosts and domains, and its author's
standing on the site), the classifier (scikit-learn's multinomial naive Bayes over hashed
features: it learns exactly as much from examples given one at a time as all at once, and from
the first few), its storage (counts in ``spam_filters``, versioned) and its use:

- ``judge`` scores a new or edited comment while the spam rules run: a hashing transform and a
  dot product with a model kept in memory, after one indexed read of the model's version; at or
  over the site's threshold the comment goes to the spam queue with the filter named as reason.
- ``current_model`` gives the site's model as last saved, kept in memory per process and
  checked against the stored version on every use. Teaching it (labels, training, evaluation)
  is discuss.filter_training.

Scoring needs numpy and mmh3 only: scikit-learn and SciPy (about 90 MB in each worker) are
imported (``_heavy``) when a model is trained or evaluated, never to judge a comment or to load
a stored model, so a worker that only serves stays small. The stored counts give the
classifier's log ratios by the same arithmetic as MultinomialNB (``_linear``;
tests/test_learning.py holds them equal).

No reader's text leaves the machine. Never reads the request.
"""

from __future__ import annotations

import ast
import importlib.util
import io
import math
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from itertools import pairwise
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import mmh3
import numpy as np
from sqlalchemy import bindparam, select

from discuss import trust
from discuss.extensions import FastRead, db, read_rows
from discuss.models import Comment, Site, SpamFilter
from discuss.permissions import Actor
from discuss.spam import SPAM, Verdict, fold

# Bump when the features or the stored form change: a stored model of another format is
# dropped and the site's filter learns all its examples again.
FORMAT = 1
N_FEATURES = 2**17  # 128 K hashed features: few collisions for one site's vocabulary
ALPHA = 0.5  # additive smoothing; chosen on the SpamAssassin corpus (docs/moderation-learning.md)
TOP_WORDS = 5
CACHED_MODELS = 16

_WORD = re.compile(r"[^\W_]{2,30}")
_URL = re.compile(r"(?i)\b(?:https?://|ftp://|www\.)[^\s<>\"'()\[\]]+")


def _heavy(name: str) -> ModuleType:
    """scikit-learn's or SciPy's module ``name``, imported on first use (training and
    evaluation), not when this module is."""
    return importlib.import_module(name)


def columns(tokens: Sequence[str]) -> np.ndarray:
    """Each token's column: the hashing trick with MurmurHash3 (32 bits, seed 0, unsigned:
    the same numbers as scikit-learn's FeatureHasher), so scoring builds no sparse matrix."""
    return np.fromiter((mmh3.hash(token, 0, signed=False) % N_FEATURES for token in tokens),
                       dtype=np.int64, count=len(tokens))


def hashed(docs: Sequence[Sequence[str]]) -> Any:
    """Documents as rows of token counts over the hashed columns (training, evaluation)."""
    rows = np.repeat(np.arange(len(docs)), [len(doc) for doc in docs])
    cols = np.concatenate([columns(doc) for doc in docs]) if docs else np.array([], np.int64)
    return _heavy("scipy.sparse").csr_matrix((np.ones(len(cols)), (rows, cols)),
                             shape=(len(docs), N_FEATURES))


@cache
def stop_words() -> frozenset[str]:
    """scikit-learn's English stop words, read from its source without importing it (the
    import alone costs a worker about 90 MB): the file holds one frozenset literal."""
    spec = importlib.util.find_spec("sklearn")
    if spec is not None and spec.submodule_search_locations:
        path = Path(spec.submodule_search_locations[0], "feature_extraction", "_stop_words.py")
        try:
            for node in ast.parse(path.read_text(encoding="utf-8")).body:
                if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
                        and any(getattr(t, "id", "") == "ENGLISH_STOP_WORDS"
                                for t in node.targets)):
                    return frozenset(ast.literal_eval(node.value.args[0]))
        except (OSError, SyntaxError, ValueError, IndexError):
            pass
    return _heavy("sklearn.feature_extraction.text").ENGLISH_STOP_WORDS  # another layout


def expit(x: float) -> float:
    """The logistic function, as scipy.special.expit computes it for one number."""
    return 1.0 / (1.0 + math.exp(-x))


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
    """A comment as the filter sees it: its words and pairs of neighbouring words (folded,
    English stop words left out), the hosts, domains and top-level domains it links to, how
    many links, and its author's standing on the site."""
    urls = _URL.findall(body)
    tokens: list[str] = []
    for url in urls:
        tokens.extend(_link_tokens(url))
    tokens.append(_link_bucket(len(urls)))
    tokens.extend(_author_tokens(standing, is_user))
    stop = stop_words()
    words = [w for w in _WORD.findall(fold(_URL.sub(" ", body))) if w not in stop]
    tokens.extend(words)
    tokens.extend(f"{a} {b}" for a, b in pairwise(words))
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
    has seen. Features it never saw carry no evidence either way (a new word is no hint).

    A model loaded from storage keeps the stored counts and scores from them; the
    MultinomialNB (and scikit-learn) comes only when it learns more or is saved again."""

    def __init__(self, classifier: Any = None,
                 stored: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> None:
        self._classifier = classifier
        # (class_count, columns, counts per class at those columns), as stored.
        self._stored = stored
        self._delta: np.ndarray | None = None
        self._bias = 0.0

    @property
    def classifier(self) -> Any:
        if self._classifier is None and self._stored is not None:
            self._classifier = _replayed(*self._stored)
        return self._classifier

    @property
    def counts(self) -> tuple[int, int]:
        """(not spam, spam) examples learned."""
        if self._classifier is None and self._stored is not None:
            ham, spam = self._stored[0]
        elif self._classifier is None:
            return 0, 0
        else:
            ham, spam = self._classifier.class_count_
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
        classifier = self.classifier
        if classifier is None:
            classifier = self._classifier = _heavy("sklearn.naive_bayes").MultinomialNB(
                alpha=ALPHA)
        classifier.partial_fit(hashed(docs), np.array(labels, dtype=int),
                               classes=np.array([0, 1]))
        self._stored = None
        self._delta = None

    def _linear(self) -> tuple[np.ndarray, float]:
        """The classifier as a linear model: per feature, how much more likely it is in spam
        than in the rest (log ratio, 0 for features never seen), and the same for the
        classes' priors. Naive Bayes with two classes is exactly this, so scoring is a
        hashing transform and a dot product."""
        if self._delta is None:
            if self._classifier is None and self._stored is not None:
                class_count, feature_count = _counts_as_replayed(*self._stored)
            else:
                class_count = self._classifier.class_count_
                feature_count = self._classifier.feature_count_
            # MultinomialNB's own arithmetic (feature_log_prob_, class_log_prior_).
            smoothed = feature_count + ALPHA
            log_prob = np.log(smoothed) - np.log(smoothed.sum(axis=1).reshape(-1, 1))
            with np.errstate(divide="ignore"):
                log_prior = np.log(class_count) - np.log(class_count.sum())
            seen = feature_count.sum(axis=0) > 0
            self._delta = np.where(seen, log_prob[1] - log_prob[0], 0.0)
            self._bias = float(log_prior[1] - log_prior[0])
        return self._delta, self._bias

    def probabilities(self, docs: Sequence[list[str]]) -> np.ndarray:
        """The spam probability of each document."""
        delta, bias = self._linear()
        return _heavy("scipy.special").expit(hashed(docs) @ delta + bias)

    def probability(self, tokens: list[str]) -> float:
        """The spam probability of one document: a sum over its tokens' columns."""
        delta, bias = self._linear()
        return expit(bias + float(delta[columns(tokens)].sum()))

    def score(self, tokens: list[str], *, explain: bool = True) -> Score:
        return Score(self.probability(tokens), self.weighed_most(tokens) if explain else [])

    def weighed_most(self, tokens: list[str], n: int = TOP_WORDS) -> list[str]:
        """The document's features that pushed hardest towards spam (count × log ratio)."""
        delta, _ = self._linear()
        counts = Counter(tokens)
        names = list(counts)
        weights = [(counts[name] * float(delta[column]), name)
                   for name, column in zip(names, columns(names), strict=True)]
        weights = sorted((w for w in weights if w[0] > 0), key=lambda w: (-w[0], w[1]))
        return [name for _, name in weights[:n]]

    def to_bytes(self) -> bytes:
        """The counts, stored sparsely (no pickle: loading runs no code)."""
        classifier = self.classifier
        feature_count = classifier.feature_count_
        columns = np.flatnonzero(feature_count.sum(axis=0))
        buffer = io.BytesIO()
        np.savez_compressed(buffer, format=np.array([FORMAT, N_FEATURES]),
                            class_count=classifier.class_count_,
                            columns=columns.astype(np.int32),
                            counts=feature_count[:, columns])
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes) -> Model | None:
        """The stored model, or None when it was stored in another format."""
        with np.load(io.BytesIO(blob), allow_pickle=False) as stored:
            if list(stored["format"]) != [FORMAT, N_FEATURES]:
                return None
            return cls(stored=(stored["class_count"], stored["columns"], stored["counts"]))


def _per_example(class_count: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """One row per class holding its per-example mean: replayed with the class's example
    count as its weight, it gives back the stored counts."""
    rows = np.zeros((2, counts.shape[1]))
    for label in (0, 1):
        if class_count[label]:
            rows[label] = counts[label] / class_count[label]
    return rows


def _counts_as_replayed(class_count: np.ndarray, columns: np.ndarray,
                        counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The class and feature counts a MultinomialNB replayed from storage holds (each
    feature count is its class's weight times its per-example mean, as partial_fit sums)."""
    rows = _per_example(class_count, counts)
    feature_count = np.zeros((2, N_FEATURES))
    for label in (0, 1):
        feature_count[label, columns] = float(class_count[label]) * rows[label]
    return np.asarray(class_count, dtype=float), feature_count


def _replayed(class_count: np.ndarray, columns: np.ndarray,
              counts: np.ndarray) -> Any:
    """The stored counts replayed through partial_fit: a classifier that learns on."""
    rows = _per_example(class_count, counts)
    matrix = _heavy("scipy.sparse").csr_matrix(
        (rows.ravel(), np.tile(columns, 2), [0, len(columns), 2 * len(columns)]),
        shape=(2, N_FEATURES))
    classifier = _heavy("sklearn.naive_bayes").MultinomialNB(alpha=ALPHA)
    classifier.partial_fit(matrix, np.array([0, 1]), classes=np.array([0, 1]),
                           sample_weight=np.asarray(class_count, dtype=float))
    return classifier


# Each process keeps the models it used last, by site, with the version they were loaded at.
_models: OrderedDict[int, tuple[int, Model]] = OrderedDict()
_models_lock = threading.Lock()


def remember_model(site_id: int, version: int, model: Model) -> None:
    """Keep a site's model (saved as ``version``) in this process."""
    with _models_lock:
        _models[site_id] = (version, model)
        _models.move_to_end(site_id)
        while len(_models) > CACHED_MODELS:
            _models.popitem(last=False)


# Prebuilt: every post on a site with the filter on asks.
_VERSION_OF = FastRead(select(SpamFilter.version)
                       .where(SpamFilter.site_id == bindparam("site_id")))


def current_model(site_id: int) -> Model | None:
    """The site's model as last saved (one indexed read when this process has it already)."""
    rows = read_rows(_VERSION_OF, {"site_id": site_id})
    if not rows:
        return None
    version = rows[0][0]
    with _models_lock:
        cached = _models.get(site_id)
    if cached is not None and cached[0] == version:
        return cached[1]
    row = db.session.execute(select(SpamFilter.version, SpamFilter.model)
                             .where(SpamFilter.site_id == site_id)).first()
    if row is None:
        return None
    # A model of another format is remembered as an empty one (never ready) until the site's
    # filter is trained again: not read again on every post.
    model = Model.from_bytes(row.model) or Model()
    remember_model(site_id, row.version, model)
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
    probability = model.probability(tokens)
    if probability >= site.spam_threshold:
        words = model.weighed_most(tokens)
        verdict.hold(SPAM, "learned_filter",
                     f"spam probability {probability:.2f}"
                     + (f"; words that weighed most: {', '.join(words)}" if words else ""))


def forget_model(site_id: int) -> None:
    """Drop this process's copy of a site's model."""
    with _models_lock:
        _models.pop(site_id, None)
