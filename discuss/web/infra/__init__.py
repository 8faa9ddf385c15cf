"""The web edge's plumbing, apart from the blueprints: HTTP caching (ETags, per-viewer JSON),
gzip compression, static assets, the query-string parser and request ids. Nothing here knows a
comment; blueprints import these, never the reverse."""
