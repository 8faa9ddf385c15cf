"""The typed database models of discuss and the vocabulary they use (statuses, policies).

Owns table shapes, indexes and small derived properties. It must not commit, build URLs, read
the request or know about Flask's app: business steps live in the domain modules.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from discuss.extensions import db


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC: the only clock the code reads."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite drops the zone)."""

    impl = DateTime
    cache_ok = True

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(timezone=True)

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    # Stored as plain strings with a CHECK constraint: readable in SQL, portable, and a new
    # value is a migration of the constraint only.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda members: [m.value for m in members],
    )


class Status(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    SPAM = "spam"
    REJECTED = "rejected"
    DELETED = "deleted"


class ModerationPolicy(enum.StrEnum):
    PRE = "pre"
    POST = "post"
    FIRST = "first"


class BlocklistAction(enum.StrEnum):
    SPAM = "spam"
    PENDING = "pending"


class DeletedUserText(enum.StrEnum):
    KEEP = "keep"
    REMOVE = "remove"


class BanKind(enum.StrEnum):
    USER = "user"
    EMAIL = "email"
    IP = "ip"


class TokenKind(enum.StrEnum):
    SESSION = "session"
    API = "api"


class ReportReason(enum.StrEnum):
    SPAM = "spam"
    ABUSE = "abuse"
    OFF_TOPIC = "off-topic"
    OTHER = "other"


# SQLite reuses the largest rowid after that row is deleted unless the table says AUTOINCREMENT;
# an id names an account, a ban or a link target, so none is ever handed out twice.
# PostgreSQL's sequences never go back.
NEVER_REUSE_IDS = {"sqlite_autoincrement": True}


class Site(db.Model):
    __tablename__ = "sites"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    origins: Mapped[list[str]] = mapped_column(JSON, default=list)
    moderation: Mapped[ModerationPolicy] = mapped_column(
        _enum(ModerationPolicy, "moderation_policy"), default=ModerationPolicy.FIRST
    )
    allow_guests: Mapped[bool] = mapped_column(Boolean, default=True)
    require_guest_name: Mapped[bool] = mapped_column(Boolean, default=True)
    edit_window: Mapped[int | None] = mapped_column(Integer, default=None)
    # Spam rules (see discuss.spam); each can be switched off per site.
    honeypot: Mapped[bool] = mapped_column(Boolean, default=True)
    min_submit_seconds: Mapped[int] = mapped_column(Integer, default=3)
    max_links: Mapped[int] = mapped_column(Integer, default=3)
    blocklist: Mapped[str] = mapped_column(Text, default="")
    blocklist_action: Mapped[BlocklistAction] = mapped_column(
        _enum(BlocklistAction, "blocklist_action"), default=BlocklistAction.PENDING
    )
    report_threshold: Mapped[int | None] = mapped_column(Integer, default=None)
    deleted_user_text: Mapped[DeletedUserText] = mapped_column(
        _enum(DeletedUserText, "deleted_user_text"), default=DeletedUserText.KEEP
    )
    # Earned trust and the learned filter (discuss.trust, discuss.learning): an author's
    # comments wait under the `first` policy until this many of theirs were approved since
    # their last one marked spam; a comment the filter scores at or over the threshold is spam.
    trust_after: Mapped[int] = mapped_column(Integer, default=1)
    spam_filter: Mapped[bool] = mapped_column(Boolean, default=True)
    spam_threshold: Mapped[float] = mapped_column(Float, default=0.9)
    # The language of its pages for readers whose browser names none discuss has (discuss.i18n).
    language: Mapped[str] = mapped_column(String(16), default="en", server_default="en")
    # The HS256 key of the site's single sign-on tokens (discuss.sso); empty: SSO is off.
    sso_secret: Mapped[str] = mapped_column(String(200), default="")
    # Where the site's events are POSTed, signed with the secret (discuss.webhooks); empty: off.
    webhook_url: Mapped[str] = mapped_column(String(2048), default="")
    webhook_secret: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<Site {self.slug}>"


class User(db.Model):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("site_id", "external_id",
                                       name="uq_users_site_external_id"),
                      # The admins alone (every guest's post compares its name with theirs):
                      # found without reading every account.
                      Index("ix_users_admins", "id", sqlite_where=text("is_admin = 1"),
                            postgresql_where=text("is_admin")),
                      NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(32))
    # Lower-cased username and email: uniqueness ignores case.
    username_key: Mapped[str] = mapped_column(String(32), unique=True)
    email: Mapped[str] = mapped_column(String(254))
    email_key: Mapped[str] = mapped_column(String(254), unique=True)
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    password_hash: Mapped[str] = mapped_column(String(255), default="")
    display_name: Mapped[str] = mapped_column(String(64), default="")
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # Bumped on password change or "sign out everywhere": older sessions stop working.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    # "Comments wait in your queue" mails (discuss.moderation, discuss.digest): on or off, and
    # when on, one mail each time (rate-limited) or one daily digest; the last digest sent.
    notify_queue: Mapped[bool] = mapped_column(Boolean, default=False)
    queue_digest: Mapped[bool] = mapped_column(Boolean, default=False)
    queue_digest_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A reader signed in by a site's own accounts (discuss.sso): the site and its user id
    # ("sub"). Such an account has no password and acts on that site only; None for local ones.
    site_id: Mapped[int | None] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), default=None)
    external_id: Mapped[str | None] = mapped_column(String(255), default=None)

    moderated_sites: Mapped[list[Site]] = relationship(
        secondary="site_moderators", lazy="selectin"
    )

    @property
    def name(self) -> str:
        return self.display_name or self.username

    @property
    def queue_mail(self) -> str:
        """How queue mails reach this user: "off", "each" or "daily"."""
        if not self.notify_queue:
            return "off"
        return "daily" if self.queue_digest else "each"

    @property
    def is_site_user(self) -> bool:
        """Signed in by a publisher's own accounts (SSO), not a local account."""
        return self.site_id is not None

    # Flask-Login protocol, kept here so any module can hand a User to login_user().
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)

    def __repr__(self) -> str:
        return f"<User {self.username}>"


class SiteModerator(db.Model):
    __tablename__ = "site_moderators"

    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"),
                                         primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    last_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class Thread(db.Model):
    __tablename__ = "threads"
    __table_args__ = (UniqueConstraint("site_id", "key", name="uq_threads_site_key"),
                      NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(512))
    url: Mapped[str] = mapped_column(String(2048), default="")
    title: Mapped[str] = mapped_column(String(300), default="")
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    # Approved comments, kept exact by discuss.comments.set_status on every change.
    comment_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Bumped on every visible change; part of the thread's ETag.
    version: Mapped[int] = mapped_column(Integer, default=0)

    site: Mapped[Site] = relationship(lazy="joined", innerjoin=True)


class Comment(db.Model):
    __tablename__ = "comments"
    __table_args__ = (
        # A page of a thread: its top-level comments in order, then whole subtrees by root.
        Index("ix_comments_thread_roots", "thread_id", "parent_id", "created_at"),
        Index("ix_comments_thread_root", "thread_id", "root_id"),
        # A site's queue by status, oldest or newest first.
        Index("ix_comments_site_status", "site_id", "status", "created_at"),
        Index("ix_comments_user", "user_id", "status"),
        Index("ix_comments_guest_email", "guest_email_key"),
        # A guest's own comments in a thread (their page's personal part).
        Index("ix_comments_guest_key", "guest_key_hash", "thread_id"),
        # The duplicate-post guard finds the same text on a site without scanning the site.
        Index("ix_comments_site_body_hash", "site_id", "body_hash"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), default=None
    )
    # The top-level ancestor (itself for a top-level comment): a page loads whole subtrees.
    root_id: Mapped[int | None] = mapped_column(Integer, default=None)
    depth: Mapped[int] = mapped_column(Integer, default=0)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    guest_name: Mapped[str] = mapped_column(String(64), default="")
    guest_email: Mapped[str] = mapped_column(String(254), default="")
    guest_email_key: Mapped[str] = mapped_column(String(254), default="")
    # Hash of the guest's browser key: lets that browser see, edit and delete its comments.
    guest_key_hash: Mapped[str] = mapped_column(String(64), default="")
    body: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    status: Mapped[Status] = mapped_column(_enum(Status, "comment_status"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    edited_by_moderator: Mapped[bool] = mapped_column(Boolean, default=False)
    upvotes: Mapped[int] = mapped_column(Integer, default=0)
    downvotes: Mapped[int] = mapped_column(Integer, default=0)
    score: Mapped[int] = mapped_column(Integer, default=0)
    # Lower bound of the Wilson interval of the up-vote share: the "top" order.
    rank: Mapped[float] = mapped_column(Float, default=0.0)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    # Shown to its author as published while nobody else sees it (shadow ban).
    shadowed: Mapped[bool] = mapped_column(Boolean, default=False)
    notify: Mapped[bool] = mapped_column(Boolean, default=False)
    report_count: Mapped[int] = mapped_column(Integer, default=0)
    # Why a spam rule held it: [{"rule": "blocklist", "detail": "casino"}, …]
    held_reasons: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    ip_hash: Mapped[str] = mapped_column(String(64), default="")
    body_hash: Mapped[str] = mapped_column(String(64), default="")
    # The parent's author was already mailed about this reply (at most once, ever).
    parent_notified: Mapped[bool] = mapped_column(Boolean, default=False)

    author: Mapped[User | None] = relationship(lazy="raise")
    thread: Mapped[Thread] = relationship(lazy="raise")

    @property
    def is_guest(self) -> bool:
        return self.user_id is None


class ImportedComment(db.Model):
    """Which comment an import made of another service's comment (by that service's id), so
    that importing the same file again adds nothing (discuss.importers)."""

    __tablename__ = "imported_comments"

    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"),
                                         primary_key=True)
    # "disqus", "wordpress", "isso" or "discuss", and that service's id of the comment (made
    # unique across installations where the service's own ids are not).
    source: Mapped[str] = mapped_column(String(16), primary_key=True)
    source_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"),
                                            index=True)


class Vote(db.Model):
    __tablename__ = "votes"

    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"),
                                            primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True, index=True)
    value: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Report(db.Model):
    __tablename__ = "reports"
    __table_args__ = (UniqueConstraint("comment_id", "reporter_key",
                                       name="uq_reports_comment_reporter"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"),
                                            index=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    # "user:<id>" or "ip:<hash>": one report per reader and comment.
    reporter_key: Mapped[str] = mapped_column(String(80))
    reason: Mapped[ReportReason] = mapped_column(_enum(ReportReason, "report_reason"))
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class AuthToken(db.Model):
    """A sign-in session (cookie or bearer) or a personal API token; only its hash is kept."""

    __tablename__ = "auth_tokens"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    kind: Mapped[TokenKind] = mapped_column(_enum(TokenKind, "token_kind"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    epoch: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    user_agent: Mapped[str] = mapped_column(String(300), default="")

    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)


class UsedToken(db.Model):
    """Single-use links (password reset, email confirmation) already spent."""

    __tablename__ = "used_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)



class PendingRegistration(db.Model):
    """A sign-up waiting for its address to be confirmed: the account is made only then, so
    registering never tells whether an address (or a username) has an account."""

    __tablename__ = "pending_registrations"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(32))
    email: Mapped[str] = mapped_column(String(254))
    email_key: Mapped[str] = mapped_column(String(254), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class UsedSsoToken(db.Model):
    """A single sign-on token (its ``jti``) already exchanged, kept until the token expires.

    The primary key is what stops two processes from both accepting one token."""

    __tablename__ = "used_sso_tokens"

    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"),
                                         primary_key=True)
    jti_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class ConfirmedEmail(db.Model):
    """A guest's email address confirmed by a link: the only way a guest becomes known."""

    __tablename__ = "confirmed_emails"

    email_key: Mapped[str] = mapped_column(String(254), primary_key=True)
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Ban(db.Model):
    __tablename__ = "bans"
    __table_args__ = (Index("ix_bans_lookup", "kind", "value"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int | None] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), default=None
    )
    kind: Mapped[BanKind] = mapped_column(_enum(BanKind, "ban_kind"))
    # user id, lower-cased email, or keyed IP hash
    value: Mapped[str] = mapped_column(String(254))
    shadow: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(String(500), default="")
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class AuditEntry(db.Model):
    """One moderation action; rows are only ever inserted (discuss.audit.record)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_site_time", "site_id", "created_at"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int | None] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), default=None
    )
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    actor_name: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(32))
    comment_id: Mapped[int | None] = mapped_column(Integer, default=None)
    thread_id: Mapped[int | None] = mapped_column(Integer, default=None)
    target: Mapped[str] = mapped_column(String(300), default="")
    status_before: Mapped[str] = mapped_column(String(16), default="")
    status_after: Mapped[str] = mapped_column(String(16), default="")
    note: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxMessage(db.Model):
    """A mail waiting to be sent: written in the request's transaction, sent after commit."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "sent_at", "send_after"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    send_after: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    # A notification's one-click unsubscribe URL (RFC 8058 List-Unsubscribe); empty for mail
    # that is not a notification (confirmations, resets).
    list_unsubscribe: Mapped[str] = mapped_column(String(2048), default="")



class CommentEdit(db.Model):
    """A comment's text as it was before one edit (discuss.history): the body, when it was
    written, and when and by whom it was replaced."""

    __tablename__ = "comment_edits"

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"),
                                            index=True)
    body: Mapped[str] = mapped_column(Text)
    # When this text was written: the comment's creation, or the edit before this one.
    written_at: Mapped[datetime] = mapped_column(UTCDateTime)
    replaced_at: Mapped[datetime] = mapped_column(UTCDateTime)
    by_moderator: Mapped[bool] = mapped_column(Boolean, default=False)


class SpamExample(db.Model):
    """One label the learned filter learns from: a moderator's decision or an imported status,
    appended in the same transaction; the filter consumes them in id order."""

    __tablename__ = "spam_examples"
    __table_args__ = (Index("ix_spam_examples_site", "site_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"),
                                            index=True)
    is_spam: Mapped[bool] = mapped_column(Boolean)
    # "moderator" or "import"
    source: Mapped[str] = mapped_column(String(16), default="moderator")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SpamFilter(db.Model):
    """A site's learned filter: the classifier's counts, versioned so that processes training
    at once never overwrite each other (discuss.learning)."""

    __tablename__ = "spam_filters"

    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"),
                                         primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    # The last SpamExample learned: the next training starts after it.
    last_example_id: Mapped[int] = mapped_column(Integer, default=0)
    ham_count: Mapped[int] = mapped_column(Integer, default=0)
    spam_count: Mapped[int] = mapped_column(Integer, default=0)
    model: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EventKind(enum.StrEnum):
    """What happened to a comment, as events, feeds and webhooks name it."""

    CREATED = "comment.created"
    APPROVED = "comment.approved"
    DELETED = "comment.deleted"


class Event(db.Model):
    """One thing that happened to a comment (discuss.events.record), written in the transaction
    that did it; the web edge acts on it at commit (mail, live updates, webhooks). ``public`` is
    true when the event made the comment visible to everyone. Ids only grow: a live stream
    resumes after the last one it saw."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_thread_id", "thread_id", "id"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"),
                                            index=True)
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set by events.record: the comment as the transaction left it, for the commit's
    # consumers without another query; never lazy-loaded.
    comment: Mapped[Comment] = relationship(lazy="raise")


class DeliveryState(enum.StrEnum):
    PENDING = "pending"  # waiting for its first attempt or a retry
    DELIVERED = "delivered"
    FAILED = "failed"  # given up after the last attempt


class WebhookDelivery(db.Model):
    """One POST of an event to a site's webhook (discuss.webhooks): written in the transaction
    that made the event, sent after the commit by `discuss deliver`, retried with backoff. The
    payload is kept as the exact text that is signed and sent, the same on every retry."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),
                      Index("ix_webhook_deliveries_site", "site_id", "id"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery: Mapped[str] = mapped_column(String(36), unique=True)
    event: Mapped[str] = mapped_column(String(32))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    payload: Mapped[str] = mapped_column(Text)
    state: Mapped[DeliveryState] = mapped_column(_enum(DeliveryState, "delivery_state"),
                                                 default=DeliveryState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_status: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str] = mapped_column(String(500), default="")
