"""The FAISS index over the chunk vectors: which kind, built how, searched how.

Exact search (`IndexFlatIP`) scores every vector; it is the best there is up to some tens of
thousands of chunks and then grows linearly. Above `FLAT_MAX` chunks "auto" builds HNSW (a
graph: fast and close to exact, about 17 % more memory than the vectors); IVF (clusters, faster
to build, a knob `nprobe` between speed and recall) is there to choose by hand. The kind and its
parameters go into the manifest (`faiss`), the search-time knobs (`QA_EF_SEARCH`, `QA_NPROBE`)
are settings; `benchmarks/scale.py` measures all three up to a million vectors.

The chunk vectors are kept once: for flat and HNSW the rows are a view into FAISS's own
storage, which is memory-mapped from `vectors.faiss`; IVF keeps its vectors in cluster lists,
from which the rows an answer needs are read back (`Reconstructed`).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa.config import CHOICES, choice

KINDS = CHOICES["index_type"]  # auto, then the kinds an index can be
FLAT_MAX = 20_000  # chunks; above it exact search costs more than the rest of a question
HNSW_M = 32  # graph neighbours per vector
HNSW_EF_CONSTRUCTION = 80
EXACT_FILTERED = 20_000  # a filter that leaves at most this many rows is scored exactly
BLOCK = 65_536  # rows added to an index at a time


@dataclass(frozen=True)
class Spec:
    """One index kind with its build parameters, as the manifest records it."""

    kind: str  # flat, hnsw or ivf
    m: int | None = None  # hnsw
    ef_construction: int | None = None  # hnsw
    nlist: int | None = None  # ivf: number of clusters

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Spec:
        return cls(**data) if data else cls("flat")  # an index from before kinds: flat


def choose(requested: str, n: int) -> Spec:
    """The spec for `n` vectors: `requested` is auto, flat, hnsw or ivf."""
    choice("index_type", requested)
    kind = requested if requested != "auto" else ("flat" if n <= FLAT_MAX else "hnsw")
    if kind == "hnsw":
        return Spec("hnsw", m=HNSW_M, ef_construction=HNSW_EF_CONSTRUCTION)
    if kind == "ivf":
        # about 4·√n clusters of at least 39 training points each (FAISS's own minimum)
        return Spec("ivf", nlist=max(1, min(int(4 * math.sqrt(n)), n // 39)))
    return Spec("flat")


def build(spec: Spec, vectors: np.ndarray) -> Any:
    """A FAISS inner-product index of `spec` holding `vectors` (unit rows) as ids 0..n-1."""
    import faiss

    n, dim = vectors.shape
    if spec.kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, spec.m or HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = spec.ef_construction or HNSW_EF_CONSTRUCTION
    elif spec.kind == "ivf":
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFFlat(quantizer, dim, spec.nlist or 1, faiss.METRIC_INNER_PRODUCT)
        # k-means on an even sample of 100 points per cluster (FAISS wants at least 39)
        sample = np.arange(0, n, max(1, n // (100 * (spec.nlist or 1))))
        train = vectors[sample] if n else np.zeros((1, dim), np.float32)
        index.train(np.ascontiguousarray(train, dtype=np.float32))
    else:
        index = faiss.IndexFlatIP(dim)
    for start in range(0, n, BLOCK):  # in blocks: a memory-mapped input is never copied whole
        index.add(np.ascontiguousarray(vectors[start : start + BLOCK], dtype=np.float32))
    return index


def read(path: Path) -> Any:
    """Load `vectors.faiss`, memory-mapped where FAISS can (flat and HNSW vectors)."""
    import faiss

    try:
        return faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC)
    except RuntimeError:  # a kind FAISS cannot map: read it whole
        return faiss.read_index(str(path))


def rows_of(index: Any) -> np.ndarray | Reconstructed:
    """The `(n, dim)` float32 vectors in id order, without a copy: a view of the storage of
    flat and HNSW, rows read back on demand for IVF."""
    import faiss

    typed = faiss.downcast_index(index)
    n, dim = typed.ntotal, typed.d
    if n == 0:
        return np.zeros((0, dim), np.float32)
    storage = faiss.downcast_index(typed.storage) if hasattr(typed, "storage") else typed
    if isinstance(storage, faiss.IndexFlat):  # the caller keeps `index` alive with the view
        return faiss.rev_swig_ptr(storage.get_xb(), n * dim).reshape(n, dim)
    return Reconstructed(index)


class Reconstructed:
    """The rows of an index that keeps its vectors in cluster lists (IVF), read back as they
    are asked for (by row, rows or slice), so the vectors are not held twice."""

    def __init__(self, index: Any) -> None:
        import faiss

        self._owner = index  # the object that owns the C++ index: it must outlive the reads
        self._index = faiss.downcast_index(index)
        self._index.make_direct_map()
        self.shape = (self._index.ntotal, self._index.d)
        self.dtype = np.dtype(np.float32)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows: Any) -> np.ndarray:
        if isinstance(rows, int | np.integer):
            return self._index.reconstruct(int(rows))
        if isinstance(rows, slice):
            ids = np.arange(*rows.indices(len(self)), dtype=np.int64)
        else:
            ids = np.asarray(rows)
            ids = np.flatnonzero(ids) if ids.dtype == bool else ids.astype(np.int64)
        if not len(ids):
            return np.zeros((0, self.shape[1]), np.float32)
        return self._index.reconstruct_batch(ids)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        whole = self[:]
        return whole if dtype is None else whole.astype(dtype)


def configure(index: Any, ef_search: int, nprobe: int) -> None:
    """Set the search-time knobs: HNSW's candidate list and IVF's clusters visited."""
    import faiss

    index = faiss.downcast_index(index)
    if hasattr(index, "hnsw"):
        index.hnsw.efSearch = ef_search
    if hasattr(index, "nprobe"):
        index.nprobe = nprobe


def search(
    index: Any, vectors: np.ndarray, q: np.ndarray, k: int, allowed: np.ndarray | None
) -> list[int]:
    """Rows of the `k` best vectors for the `(1, dim)` query, best first; only `allowed` rows
    (a boolean mask) when given. `k` stays `k`: a filter that leaves few rows is scored
    exactly, and an approximate search that finds fewer than `k` allowed rows is redone
    exactly."""
    import faiss

    index = faiss.downcast_index(index)
    n = index.ntotal
    if allowed is None:
        k = min(k, n)
        with _one_thread():
            _, rows = index.search(q, k, params=_params(index, None, k))
        return [int(r) for r in rows[0] if r >= 0]
    ids = np.flatnonzero(allowed).astype(np.int64)
    k = min(k, len(ids))
    exact = isinstance(index, faiss.IndexFlat) or len(ids) <= EXACT_FILTERED
    if not exact:
        with _one_thread():
            _, rows = index.search(q, k, params=_params(index, faiss.IDSelectorBatch(ids), k))
        found = [int(r) for r in rows[0] if r >= 0]
        if len(found) == k:
            return found
    scores = vectors[ids] @ q[0]
    top = np.argsort(-scores, kind="stable")[:k]
    return [int(r) for r in ids[top]]


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """FAISS searches one query in one thread anyway; its other OpenMP threads would only stay
    awake on the cores the encoder needs next (retrieval p50 8.0 ms against 9.4 ms over 37k
    chunks, taking turns). The setting is the calling thread's own in OpenMP and is put back,
    so a build elsewhere keeps every core.
    """
    import faiss

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def _params(index: Any, selector: Any, k: int) -> Any:
    import faiss

    if hasattr(index, "hnsw"):
        return faiss.SearchParametersHNSW(sel=selector, efSearch=max(index.hnsw.efSearch, k))
    if hasattr(index, "nprobe"):
        return faiss.SearchParametersIVF(sel=selector, nprobe=index.nprobe)
    return None if selector is None else faiss.SearchParameters(sel=selector)


def describe(spec: Spec, ef_search: int, nprobe: int) -> str:
    """One line for `qa index info`."""
    if spec.kind == "hnsw":
        return f"hnsw (M={spec.m}, efConstruction={spec.ef_construction}; efSearch={ef_search})"
    if spec.kind == "ivf":
        return f"ivf (nlist={spec.nlist}; nprobe={nprobe})"
    return "flat (exact)"
