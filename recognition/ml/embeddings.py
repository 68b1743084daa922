"""The stored form of an embedding: 128 float32 values as 512 little-endian bytes.

Fixed byte order, not the machine's: rows written by one server are read by workers on others, on
SQLite as on PostgreSQL.
"""

from __future__ import annotations

import numpy as np

EMBEDDING_DTYPE = np.dtype("<f4")


def embedding_to_bytes(vector: np.ndarray) -> bytes:
    """Return a 128-d embedding as 512 little-endian float32 bytes (portable across databases)."""
    return np.asarray(vector, dtype=EMBEDDING_DTYPE).tobytes()


def embedding_from_bytes(data: bytes) -> np.ndarray:
    """Return the float32 vector stored by embedding_to_bytes (a read-only view of a copy of `data`)."""
    return np.frombuffer(bytes(data), dtype=EMBEDDING_DTYPE)
