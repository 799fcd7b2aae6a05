"""The schema, one SQLAlchemy Core ``MetaData`` for SQLite and PostgreSQL.

Times are UTC milliseconds since the epoch in BIGINT columns: portable, sortable and
cheap on both engines. Ids are time-ordered UUID strings (see ``core/ids.py``).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = sa.String(36)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

instance = sa.Table(
    "instance",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

tenants = sa.Table(
    "tenants",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    # {"per_second": float, "burst": int} or NULL (unlimited); ``core/ratelimit.py``.
    sa.Column("rate_limit", JSON, nullable=True),
    sa.Column("send_rate_limit", JSON, nullable=True),
    sa.Column("deliveries_per_day", sa.BigInteger, nullable=True),
    # The tenant's operational webhook (docs/operations.md, "Operational events"): where
    # its events are POSTed, and the signing secret sealed with the SecretBox.
    sa.Column("ops_webhook_url", sa.String(2048), nullable=True),
    sa.Column("ops_webhook_secret", sa.LargeBinary, nullable=True),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", ID, primary_key=True),
    # NULL tenant: an instance-wide key (only with the admin scope).
    sa.Column("tenant_id", ID, sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("prefix", sa.String(16), nullable=False, unique=True),
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("scopes", JSON, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("revoked_at", sa.BigInteger, nullable=True),
    # NULL: never expires. A rotated key gets the end of its overlap here.
    sa.Column("expires_at", sa.BigInteger, nullable=True),
    # Written at most once a minute per key and process (``core/access.py``).
    sa.Column("last_used_at", sa.BigInteger, nullable=True),
    sa.Column("rate_limit", JSON, nullable=True),
)

apps = sa.Table(
    "apps",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("tenant_id", ID, sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("description", sa.String(512), nullable=False, server_default=""),
    # Sealed HS256 secret that verifies user tokens at device registration (optional).
    sa.Column("user_auth_secret", sa.LargeBinary, nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    # {"text": str, "locales": {locale: str}} or NULL: the push sent to a device when its
    # answer to an action failed (NULL: the built-in text), and the one sent when it
    # succeeded (NULL: none); core/action_notices.py.
    sa.Column("action_error_text", JSON, nullable=True),
    sa.Column("action_confirm_text", JSON, nullable=True),
    # Whether every send must name one of the app's notification types (docs/types.md).
    sa.Column("requires_type", sa.Boolean, nullable=False, server_default=sa.false()),
    # Whether other instances may send through this app (docs/relay.md).
    sa.Column("relay", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.UniqueConstraint("tenant_id", "name"),
)

credentials = sa.Table(
    "credentials",
    metadata,
    sa.Column("app_id", ID, sa.ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("public", JSON, nullable=False),
    sa.Column("fingerprints", JSON, nullable=False),
    sa.Column("sealed", sa.LargeBinary, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    # Set when the provider refused these credentials: sending waits until they are fixed.
    sa.Column("paused_at", sa.BigInteger, nullable=True),
    sa.Column("paused_reason", sa.String(512), nullable=True),
)

# What a person can answer on a notification (docs/actions.md, "Model"). A notification
# keeps a copy of the actions it was sent with, so these rows change nothing already sent.
actions = sa.Table(
    "actions",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("tenant_id", ID, sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    sa.Column("app_id", ID, sa.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    sa.Column("key", sa.String(64), nullable=False),
    sa.Column("title", sa.String(64), nullable=False),
    # locale → title
    sa.Column("titles", JSON, nullable=False),
    # {"foreground", "destructive", "authentication_required"}: booleans
    sa.Column("options", JSON, nullable=False),
    # {"placeholder", "button_title"} or NULL: no text input
    sa.Column("text_input", JSON, nullable=True),
    sa.Column("handler_kind", sa.String(16), nullable=False),
    # The handler's fields but its kind (``core/actions.py`` handler_fields).
    sa.Column("handler", JSON, nullable=False),
    # A webhook handler's sealed Standard Webhooks secret; NULL for other handlers.
    sa.Column("secret", sa.LargeBinary, nullable=True),
    sa.Column("allow_repeats", sa.Boolean, nullable=False),
    sa.Column("deadline_seconds", sa.Integer, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("app_id", "key"),
)

action_sets = sa.Table(
    "action_sets",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("tenant_id", ID, sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    sa.Column("app_id", ID, sa.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    sa.Column("key", sa.String(64), nullable=False),
    # The actions' keys in display order (JSON list): keys, since an action's key never
    # changes and is what a reader of the set recognises.
    sa.Column("action_keys", JSON, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("app_id", "key"),
)

# An app's notification types (docs/types.md): the defaults a send of the type takes,
# the providers it may use and its template ({title, subtitle, body, data, overrides,
# locales}, Jinja2 sources). ``version`` grows with every change, so a compiled template
# is cached per (id, version).
notification_types = sa.Table(
    "notification_types",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("tenant_id", ID, sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    sa.Column("app_id", ID, sa.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    sa.Column("key", sa.String(64), nullable=False),
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("description", sa.String(1024), nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("priority", sa.String(16), nullable=True),
    sa.Column("ttl", sa.Integer, nullable=True),
    sa.Column("collapse_key", sa.String(64), nullable=True),
    sa.Column("action_set", sa.String(64), nullable=True),
    sa.Column("providers", JSON, nullable=False),
    sa.Column("opt_out_allowed", sa.Boolean, nullable=False),
    sa.Column("template", JSON, nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("app_id", "key"),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("tenant_id", ID, sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    sa.Column("external_id", sa.String(256), nullable=False),
    sa.Column("locale", sa.String(35), nullable=True),
    sa.Column("timezone", sa.String(64), nullable=True),
    sa.Column("attributes", JSON, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    # The key of the unit the user belongs to (at most one); NULL: none.
    sa.Column("unit", sa.String(64), nullable=True),
    sa.UniqueConstraint("tenant_id", "external_id"),
    sa.Index(None, "tenant_id", "unit"),
)

# Groups of a tenant's users (docs/settings.md), optionally nested: ``parent`` is the key
# of another unit of the tenant. Keys do not change, so users and settings name units by
# key; the service keeps parents and members pointing at units that exist.
units = sa.Table(
    "units",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("tenant_id", ID, sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    sa.Column("key", sa.String(64), nullable=False),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("parent", sa.String(64), nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("tenant_id", "key"),
)

# Settings by scope (core/settings_catalog.py): ``global`` (the tenant) or ``unit:<key>``.
# ``value`` is ``{"v": <value>}``; a secret's is sealed (``sealed``) and ``value`` is NULL.
scoped_settings = sa.Table(
    "scoped_settings",
    metadata,
    sa.Column("tenant_id", ID, sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("scope", sa.String(80), primary_key=True),
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("value", JSON, nullable=True),
    sa.Column("sealed", sa.LargeBinary, nullable=True),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
)

user_aliases = sa.Table(
    "user_aliases",
    metadata,
    sa.Column("app_id", ID, sa.ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("alias", sa.String(256), primary_key=True),
    sa.Column("user_id", ID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Index(None, "user_id"),
)

devices = sa.Table(
    "devices",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("tenant_id", ID, sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    sa.Column("app_id", ID, sa.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    sa.Column("provider", sa.String(16), nullable=False),
    # APNs hex token, FCM/HMS registration token, Web Push endpoint, WNS channel URI, URL.
    sa.Column("token", sa.String(2048), nullable=False),
    # Web Push subscription keys {p256dh, auth}; NULL for other providers.
    sa.Column("keys", JSON, nullable=True),
    sa.Column("platform", sa.String(16), nullable=False),
    sa.Column("user_id", ID, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    sa.Column("locale", sa.String(35), nullable=True),
    sa.Column("timezone", sa.String(64), nullable=True),
    sa.Column("topics", JSON, nullable=False),
    sa.Column("tags", JSON, nullable=False),
    sa.Column("app_version", sa.String(64), nullable=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("state_reason", sa.String(256), nullable=True),
    sa.Column("state_changed_at", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("app_id", "provider", "token"),
    sa.Index(None, "user_id"),
    # A fan-out pages through an app's active devices in id order: with this index each
    # page is a range read; without it every page re-read and sorted the whole app.
    sa.Index("ix_devices_app_id_state_id", "app_id", "state", "id"),
)

# What a user chose to receive (core/preferences.py): ``document`` is
# ``{"default": "in"|"out", "types": {key: {"choice", "providers_out"}}}``; quiet hours
# as given, NULL for none. A user without a row has the defaults.
user_preferences = sa.Table(
    "user_preferences",
    metadata,
    sa.Column("user_id", ID, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("tenant_id", ID, sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    sa.Column("document", JSON, nullable=False),
    sa.Column("quiet_hours", JSON, nullable=True),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Index(None, "tenant_id"),
)

# A device's switch and muted type keys; a device without a row is on and mutes nothing.
device_preferences = sa.Table(
    "device_preferences",
    metadata,
    sa.Column("device_id", ID, sa.ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("tenant_id", ID, sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("muted_types", JSON, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Index(None, "tenant_id"),
)

device_token_history = sa.Table(
    "device_token_history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("device_id", ID, sa.ForeignKey("devices.id", ondelete="CASCADE"), nullable=False),
    sa.Column("old_token", sa.String(2048), nullable=False),
    sa.Column("new_token", sa.String(2048), nullable=False),
    sa.Column("changed_at", sa.BigInteger, nullable=False),
    sa.Index(None, "device_id"),
)

# The ``sql`` job queue (``queue/sql.py``). Payloads are opaque bytes to the queue.
JOB_ID = sa.String(64)

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", JOB_ID, primary_key=True),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("payload", sa.LargeBinary, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    # When the job became due (enqueue or retry time), as reported to workers.
    sa.Column("due_at", sa.BigInteger, nullable=False),
    # When a lease may take it next: ``due_at`` while waiting, the lease's expiry while
    # leased, so one index range finds due jobs and expired leases alike.
    sa.Column("visible_at", sa.BigInteger, nullable=False),
    sa.Column("lease_token", sa.String(32), nullable=True),
    sa.Column("last_error", sa.String(1024), nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Index(None, "kind", "visible_at"),
)

dead_jobs = sa.Table(
    "dead_jobs",
    metadata,
    sa.Column("id", JOB_ID, primary_key=True),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("payload", sa.LargeBinary, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("reason", sa.String(1024), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("failed_at", sa.BigInteger, nullable=False),
    sa.Index(None, "kind", "failed_at"),
)

# Jobs for the Redis queue, written in the same transaction as the change that made them
# and kept until a worker finishes them: a relay moves new rows to Redis (``relayed_at``
# set), and a reconciler queues again any row Redis lost (docs/architecture.md §9).
outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", JOB_ID, primary_key=True),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("payload", sa.LargeBinary, nullable=False),
    # When the job is due; NULL: as soon as it is queued.
    sa.Column("available_at", sa.BigInteger, nullable=True),
    # What the job works for (a notification's id), to queue its jobs again on demand.
    sa.Column("owner_id", sa.String(64), nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("relayed_at", sa.BigInteger, nullable=True),
    sa.Index(None, "relayed_at", "created_at"),
    sa.Index(None, "owner_id"),
)

notifications = sa.Table(
    "notifications",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("tenant_id", ID, sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    sa.Column("app_id", ID, sa.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    sa.Column("idempotency_key", sa.String(256), nullable=True),
    sa.Column("audience", JSON, nullable=False),
    # Everything the devices are sent (title, body, data, locales, overrides, …).
    sa.Column("content", JSON, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("targeted", sa.Integer, nullable=False),
    sa.Column("fanout_done", sa.Boolean, nullable=False),
    sa.Column("send_at", sa.BigInteger, nullable=True),
    sa.Column("expires_at", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    # What is kept of its deliveries: `all` (a row each) or `failures` (counts, and a row
    # only for what did not go out); see core.notifications.DeliveryRecords.
    sa.Column("records", sa.String(16), nullable=False, server_default="all"),
    # Hex SHA-256 of the request that carried the idempotency key: a repeat of the key with
    # another request is refused (NULL on rows stored before 0008: any repeat matches).
    sa.Column("request_hash", sa.String(64), nullable=True),
    # The notification type it was sent as (docs/types.md); NULL: sent ad hoc.
    sa.Column("type_key", sa.String(64), nullable=True),
    sa.UniqueConstraint("tenant_id", "idempotency_key"),
    # Listings page newest first down these (ids are UUIDv7, so time-ordered).
    sa.Index(None, "tenant_id", "id"),
    sa.Index(None, "app_id", "id"),
    sa.Index(None, "created_at"),
    # Only notifications still sending: the oldest-pending gauge of /metrics reads it
    # (storage/instance_stats.py), and a notification leaves it when it completes.
    sa.Index(
        "ix_notifications_sending",
        "created_at",
        sqlite_where=sa.text("state = 'sending'"),
        postgresql_where=sa.text("state = 'sending'"),
    ),
)

deliveries = sa.Table(
    "deliveries",
    metadata,
    # Stable across retries: it is the apns-id / webhook-id the receiver sees.
    sa.Column("id", ID, primary_key=True),
    sa.Column(
        "notification_id",
        ID,
        sa.ForeignKey("notifications.id", ondelete="CASCADE"),
        nullable=False,
    ),
    # No foreign key: a device row goes only with its app, whose notifications (and so
    # their deliveries) go too, while the key cost a parent lookup on every insert and an
    # index for the cascade. Sending skips a delivery whose device is gone or inactive.
    sa.Column("device_id", ID, nullable=False),
    sa.Column("app_id", ID, nullable=False),
    sa.Column("provider", sa.String(16), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", sa.BigInteger, nullable=True),
    sa.Column("reason", sa.String(512), nullable=True),
    sa.Column("status", sa.Integer, nullable=True),
    sa.Column("provider_message_id", sa.String(256), nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("notification_id", "device_id"),
    # Only pending deliveries are looked up by state ("is anything left?", cancel,
    # expiry); the index holds just those, so a delivery leaves it once and a sent one
    # costs it nothing more. Statements must name 'pending' literally to use it.
    sa.Index(
        "ix_deliveries_pending",
        "notification_id",
        sqlite_where=sa.text("state = 'pending'"),
        postgresql_where=sa.text("state = 'pending'"),
    ),
)

# Deliveries counted per notification, provider and state, kept in the transaction that
# changes them, so a notification's status is a read of a few rows however many
# deliveries it has (counting them was a scan of all of them on every status call).
# Steps of a notification's sending done once, whatever runs twice: the fan-out pages
# and send batches of notifications that record failures only (their counts moved), and
# of every notification, the fan-out pages whose next page was queued.
settled_batches = sa.Table(
    "settled_batches",
    metadata,
    sa.Column(
        "notification_id",
        ID,
        sa.ForeignKey("notifications.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("key", sa.String(128), primary_key=True),
    # What a run again needs of it: a page's devices as its first run read them, a
    # batch's retry job (JSON).
    sa.Column("kept", sa.Text, nullable=True),
)

delivery_counts = sa.Table(
    "delivery_counts",
    metadata,
    sa.Column(
        "notification_id",
        ID,
        sa.ForeignKey("notifications.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("provider", sa.String(16), primary_key=True),
    # A delivery state, or ``suppressed:<reason>`` (core/suppression.py).
    sa.Column("state", sa.String(48), primary_key=True),
    sa.Column("n", sa.Integer, nullable=False),
)

# Who did what to which object, when and from where (core/audit.py). No foreign keys: the
# record outlives the tenant, key or object it names.
audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("at", sa.BigInteger, nullable=False),
    sa.Column("tenant_id", ID, nullable=True),
    sa.Column("key_id", sa.String(64), nullable=False),
    sa.Column("key_name", sa.String(128), nullable=False),
    sa.Column("origin", sa.String(64), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("object_type", sa.String(16), nullable=False),
    sa.Column("object_id", sa.String(256), nullable=False),
    sa.Column("details", JSON, nullable=False),
    sa.Index("ix_audit_events_tenant", "tenant_id", "id"),
    sa.Index("ix_audit_events_at", "at"),
)

# What pushgate itself did that an operator must know (core/operational_events.py); a
# NULL tenant for what concerns the whole instance. Purged with the audit retention.
operational_events = sa.Table(
    "operational_events",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("at", sa.BigInteger, nullable=False),
    sa.Column("tenant_id", ID, nullable=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("subject_type", sa.String(16), nullable=False),
    sa.Column("subject_id", sa.String(64), nullable=False),
    sa.Column("app_id", ID, nullable=True),
    sa.Column("details", JSON, nullable=False),
    sa.Index("ix_operational_events_tenant", "tenant_id", "id"),
    sa.Index("ix_operational_events_at", "at"),
)

# One answer from a device to an action of a notification (core/responses.py), kept as
# long as its notification. ``repeat_key`` is the action's id for an action answered once
# per delivery (so a second answer finds the first), the response's own id for one that
# allows repeats.
action_responses = sa.Table(
    "action_responses",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("tenant_id", ID, nullable=False),
    sa.Column("app_id", ID, nullable=False),
    sa.Column(
        "notification_id",
        ID,
        sa.ForeignKey("notifications.id", ondelete="CASCADE"),
        nullable=False,
    ),
    # No foreign keys: a notification that records failures only has no delivery rows,
    # and a device may be unregistered after it answered.
    sa.Column("delivery_id", ID, nullable=False),
    sa.Column("device_id", ID, nullable=False),
    sa.Column("user_id", ID, nullable=True),
    sa.Column("action_id", ID, nullable=False),
    sa.Column("action_key", sa.String(64), nullable=False),
    sa.Column("repeat_key", ID, nullable=False),
    sa.Column("input", sa.Text, nullable=True),
    sa.Column("data", JSON, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    # The handler's answer (core/responses.py HandlerResult), NULL until one came.
    sa.Column("result", JSON, nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("handled_at", sa.BigInteger, nullable=True),
    sa.Column("next_attempt_at", sa.BigInteger, nullable=True),
    sa.UniqueConstraint("delivery_id", "repeat_key"),
    # A notification's responses, newest first, and their counts.
    sa.Index(None, "notification_id", "id"),
)

# What devices reported of their deliveries (core/interactions.py, docs/reports.md): one
# row per delivery, event and action (``''`` for events without one), which is what makes
# a report idempotent. No foreign key to the delivery: a notification that records
# failures only has no row for a sent delivery; the notification's key purges them with it.
interactions = sa.Table(
    "interactions",
    metadata,
    sa.Column("delivery_id", ID, primary_key=True),
    sa.Column("event", sa.String(16), primary_key=True),
    sa.Column("action_key", sa.String(64), primary_key=True),
    sa.Column(
        "notification_id",
        ID,
        sa.ForeignKey("notifications.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("device_id", ID, nullable=False),
    # When it happened, as the device said, held within the notification's life.
    sa.Column("at", sa.BigInteger, nullable=False),
    sa.Column("recorded_at", sa.BigInteger, nullable=False),
    # A notification's deliveries with their interactions (the CSV export).
    sa.Index(None, "notification_id", "delivery_id"),
)

# A notification's interactions counted as they are recorded, so its report is a read of a
# few rows (core/engagement.py names the metrics: events, actions by key, and the
# time-to-open histogram).
notification_engagement = sa.Table(
    "notification_engagement",
    metadata,
    sa.Column(
        "notification_id",
        ID,
        sa.ForeignKey("notifications.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("metric", sa.String(80), primary_key=True),
    sa.Column("n", sa.BigInteger, nullable=False),
)

# An app's sends and interactions per UTC hour and notification type (``''``: ad hoc),
# counted as they happen: the time series of GET /v1/reports/apps/{app}. They outlive the
# notifications they count (a row an hour and metric is small).
interaction_rollups = sa.Table(
    "interaction_rollups",
    metadata,
    sa.Column("app_id", ID, sa.ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("hour", sa.BigInteger, primary_key=True),  # epoch ms of the hour's start
    sa.Column("type_key", sa.String(64), primary_key=True),
    sa.Column("metric", sa.String(16), primary_key=True),
    sa.Column("n", sa.BigInteger, nullable=False),
)

# Relaying (docs/relay.md): the instances that send through this one's relay apps, the keys
# that speak for each, the message ids accepted in the retention window (``answer`` NULL
# while the message is in flight) and counts per origin, UTC day and outcome.
relay_origins = sa.Table(
    "relay_origins",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("tenant_id", ID, sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    sa.Column("instance_id", sa.String(64), nullable=False),
    sa.Column("instance_name", sa.String(256), nullable=False),
    sa.Column("apps", JSON, nullable=False),
    sa.Column("per_second", sa.Float, nullable=True),
    sa.Column("burst", sa.Integer, nullable=True),
    sa.Column("per_day", sa.BigInteger, nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("tenant_id", "instance_id"),
)

relay_origin_keys = sa.Table(
    "relay_origin_keys",
    metadata,
    sa.Column("key_id", ID, sa.ForeignKey("api_keys.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "origin_id", ID, sa.ForeignKey("relay_origins.id", ondelete="CASCADE"), nullable=False
    ),
)

relay_accepted = sa.Table(
    "relay_accepted",
    metadata,
    sa.Column(
        "origin_id", ID, sa.ForeignKey("relay_origins.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("message_id", sa.String(128), primary_key=True),
    sa.Column("answer", JSON, nullable=True),
    sa.Column("keep_until", sa.BigInteger, nullable=False),
    sa.Index("ix_relay_accepted_keep_until", "keep_until"),
)

# A batch answered 202 (docs/relay.md, "Long sends"): its answers, once its send is over,
# until the window of its messages' ids ends.
relay_batches = sa.Table(
    "relay_batches",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column(
        "origin_id",
        ID,
        sa.ForeignKey("relay_origins.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("answers", JSON, nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("keep_until", sa.BigInteger, nullable=False),
    sa.Index("ix_relay_batches_keep_until", "keep_until"),
)

relay_counts = sa.Table(
    "relay_counts",
    metadata,
    sa.Column(
        "origin_id", ID, sa.ForeignKey("relay_origins.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("day", sa.Integer, primary_key=True),
    sa.Column("what", sa.String(16), primary_key=True),
    sa.Column("n", sa.BigInteger, nullable=False),
)

# An app's rules that turn record events into notifications (docs/events.md). ``spec`` is
# the trigger as given (names, record type, operations, condition, recipients, type,
# throttle, delay, cancel_on), read back through core/event_inputs.py.
triggers = sa.Table(
    "triggers",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("tenant_id", ID, sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    sa.Column("app_id", ID, sa.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    sa.Column("key", sa.String(64), nullable=False),
    sa.Column("spec", JSON, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("app_id", "key"),
    sa.Index(None, "tenant_id"),
)

# What happened to a host's record, stored with its processing job (docs/events.md).
# ``body`` is the event as given; ``outcome`` what processing made of it, per trigger.
record_events = sa.Table(
    "record_events",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("tenant_id", ID, sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    sa.Column("idempotency_key", sa.String(256), nullable=True),
    sa.Column("request_hash", sa.String(64), nullable=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("record_type", sa.String(64), nullable=False),
    sa.Column("record_id", sa.String(256), nullable=False),
    sa.Column("body", JSON, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("outcome", JSON, nullable=False),
    sa.Column("reason", sa.String(1024), nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("processed_at", sa.BigInteger, nullable=True),
    sa.UniqueConstraint("tenant_id", "idempotency_key"),
    sa.Index(None, "tenant_id", "record_type", "record_id", "created_at"),
    sa.Index(None, "created_at"),
    sa.Index(None, "tenant_id", "id"),
    sa.Index(None, "tenant_id", "name", "id"),
    sa.Index(None, "tenant_id", "record_type", "record_id", "id"),
)

# When a trigger's throttle lets a recipient hear of a record again: one row per
# (tenant, record, type, user) key, written with the firing that sent (docs/events.md).
trigger_throttles = sa.Table(
    "trigger_throttles",
    metadata,
    sa.Column("key", sa.String(512), primary_key=True),
    sa.Column("until", sa.BigInteger, nullable=False, index=True),
)

# What a package put into an app (docs/packages.md): one row per (app, package name), with
# the hash of each item as installed, keyed "<kind>/<key>"; an item whose hash no longer
# matches was changed by the tenant, and an upgrade or uninstall leaves it as it is.
package_installs = sa.Table(
    "package_installs",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("tenant_id", ID, sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    sa.Column("app_id", ID, sa.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("version", sa.String(64), nullable=False),
    sa.Column("items", JSON, nullable=False),
    sa.Column("installed_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("app_id", "name"),
    sa.Index(None, "tenant_id"),
)

# A tenant's inbound sources (docs/events.md, "Inbound sources"): ``spec`` is the source
# without its verification, which is ``sealed`` with the instance key (core/inbound_sources.py).
inbound_sources = sa.Table(
    "inbound_sources",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("tenant_id", ID, sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    sa.Column("key", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("spec", JSON, nullable=False),
    sa.Column("sealed", sa.LargeBinary, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("tenant_id", "key"),
)
