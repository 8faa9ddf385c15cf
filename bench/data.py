"""The benchmark's data: realistic Markdown comments in threads of 0, 100 and 1,000 comments.

One deterministic plan (``plan_thread``) feeds both services: discuss is seeded with bulk
inserts whose html still comes from ``rendering.render_markdown``; Isso through its own API.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

SITE = "bench"
ORIGIN = "https://news.example.com"
THREAD_SIZES = {"t0": 0, "t100": 100, "t1000": 1000}
COUNT_KEYS = [f"article-{i}" for i in range(20)]
POST_KEY = "post-target"
MILLION_THREADS = 20_000
MILLION_PER_THREAD = 50

BODIES = [
    "I don't think *Jessica Jones* will show up before the second half of the season. "
    "The showrunners said as much in [this interview](https://example.com/interview).",
    "Great write-up! A couple of points:\n\n- the pacing in episode 3 was **off**\n"
    "- the soundtrack, on the other hand, is superb\n- and the cliffhanger worked",
    "> The finale sets up a crossover\n\nDoes it, though? I read it as a clean ending. "
    "Nothing in the last scene points to Harlem.",
    "Small correction: the quote is from the *comic*, not the show. See "
    "https://example.org/wiki/Alias_(comics) for the original run.",
    "Honestly this is the best thing they've made. ~~Daredevil~~ Jessica Jones remains "
    "the high point of the whole franchise, and `season 1` holds up on a rewatch.",
    "Here is the snippet people keep asking about:\n\n```\nfor ep in season:\n"
    "    watch(ep)\n```\n\nSorry, couldn't resist.",
    "1. Watch season 1\n2. Skip the crossover\n3. Watch season 2\n\nYou lose nothing, "
    "I promise. The *Defenders* arc is optional.",
    "Agreed with the parent comment. The writing is sharp, the acting sharper, and "
    "Krysten Ritter carries every scene she's in. **Ten out of ten.**",
    "Not sure why everyone is so negative. It's a TV show; enjoy it or don't. "
    "Some of us liked the slower episodes _because_ they were slow.",
    "Does anyone know if this is coming out on Blu-ray? The streaming bitrate "
    "makes the night scenes look like mud on my projector.",
    "Long comment incoming. The first season worked because Kilgrave was a villain who "
    "made the theme concrete: control, consent, memory. The second season lacks a "
    "comparable antagonist, so the themes float. That said, the relationship with her "
    "mother is handled with more care than most shows manage, and the last two episodes "
    "land hard. I'd rank it below season 1 and above everything else in the crossover.",
    "Thanks, fixed my typo. *Their*, not *there*.",
]
NAMES = ["Alex", "Sam", "Jordan", "Robin", "Kim", "Taylor", "Casey", "Morgan", "Riley",
         "Jamie", "Avery", "Quinn"]


@dataclass(frozen=True)
class PlannedComment:
    index: int
    parent: int | None  # index of the parent within the same thread
    body: str
    name: str
    created_at: datetime


def plan_thread(size: int, seed: int, start: datetime | None = None) -> list[PlannedComment]:
    """A thread of ``size`` comments: about a third top-level, the rest replies (any depth),
    each body a realistic Markdown text with a small per-comment variation."""
    rng = random.Random(seed)
    start = start or datetime(2024, 1, 1, tzinfo=UTC)
    planned: list[PlannedComment] = []
    for i in range(size):
        parent = None
        if i > 0 and rng.random() > 0.35:
            parent = rng.randrange(max(0, i - 40), i)
        body = f"{rng.choice(BODIES)}\n\n(#{seed}-{i})"
        planned.append(PlannedComment(i, parent, body, rng.choice(NAMES),
                                      start + timedelta(seconds=37 * i)))
    return planned
