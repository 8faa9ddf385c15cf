"""Train the learned filters after a request that taught them something.

A moderator's decision (or anything else that noted a ``SpamExample``) names its site in the
session; once the view has committed, the site's filter learns the new examples before the
response leaves, so the next comment posted anywhere meets the updated filter. Posting never
trains, so readers never wait for it. A failure is logged and left for the next decision or
``discuss spam-train``: the examples stay until some process has learned them.
"""

from __future__ import annotations

import logging

from flask import Flask, Response
from sqlalchemy.exc import SQLAlchemyError

from discuss import filter_training
from discuss.extensions import db

log = logging.getLogger(__name__)


def _train_after_request(response: Response) -> Response:
    site_ids = filter_training.noted_sites()
    if not site_ids or response.status_code >= 500:
        return response
    try:
        filter_training.train_noted(site_ids)
    except SQLAlchemyError:
        db.session.rollback()
        log.exception("training the spam filter of sites %s failed", sorted(site_ids))
    return response


def init_app(app: Flask) -> None:
    """Train after every request that noted examples, once its view has committed."""
    app.after_request(_train_after_request)
