"""Comment themes: every comment embedded in the workers, in batches (followup.embeddings),
grouped into themes incrementally as comments arrive and rebuilt nightly; each theme named by
its most telling words and three example comments. A lead's rename, merge or split sticks
across rebuilds."""

from datetime import datetime


def embed_pending(now: datetime) -> int:
    """Embed a batch of comments not embedded yet (or changed since) and put each in its
    theme; the number embedded."""
    return 0


def rebuild(now: datetime) -> int:
    """Cluster the comments again from scratch, keeping the themes a lead named, merged or
    split; the number of themes."""
    return 0
