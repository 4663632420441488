"""``early_stopping`` on Dask: which rows are held out, chosen on the workers.

As many samples are held out as the in-memory split holds out
(``max(ceil(validation_fraction * n), n_classes)``, or the same error), shared
among the classes in proportion to their counts (where shares tie, a class
may get one sample more or less than in memory), and each class's share is
spread over the chunks in proportion to the chunk's count of it: a table of
``n_chunks x n_classes`` counts comes to the client, never a label. Each
chunk then draws its rows at random on its worker. Chunks left with no row
are dropped from the set, so that no sum meets an empty chunk.
"""

from __future__ import annotations

import numpy as np

from sklearn_gd_logreg._dask import on_workers
from sklearn_gd_logreg._inputs import validation_size


def spread(total: int, weights, rng) -> np.ndarray:
    """Non-negative integers in proportion to the integers ``weights`` that
    add up to ``total`` (each at most its weight when ``total`` is at most
    their sum): the floors, plus one for the largest remainders, ties
    broken by ``rng``; exact, in integers.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_gd_logreg._dask_holdout import spread
    >>> spread(3, [4, 4, 2], np.random.default_rng(0)).tolist()  # 1.2, 1.2, 0.6
    [1, 1, 1]
    >>> sorted(spread(5, [50, 50, 50], np.random.default_rng(0)).tolist())  # a tie
    [1, 2, 2]
    """
    weights = [int(w) for w in weights]  # Python's integers: no overflow
    denominator = sum(weights)
    if denominator == 0:
        return np.zeros(len(weights), dtype=np.int64)
    pairs = [divmod(total * w, denominator) for w in weights]
    counts = np.array([q for q, _ in pairs], dtype=np.int64)
    rests = np.array([r for _, r in pairs], dtype=np.int64)  # r < n
    order = np.lexsort((rng.random(len(weights)), -rests))  # largest rest first
    counts[order[: total - int(counts.sum())]] += 1
    return counts


def quotas(counts: np.ndarray, fraction: float, rng) -> np.ndarray:
    """How many samples of each class (columns) to hold out in each chunk
    (rows), for the chunks' class ``counts``."""
    n, n_classes = int(counts.sum()), counts.shape[1]
    n_val = validation_size(n, n_classes, fraction)
    per_class = spread(n_val, counts.sum(axis=0), rng)
    return np.column_stack(
        [spread(int(per_class[k]), counts[:, k], rng) for k in range(n_classes)]
    )


def _chunk_counts(y_index, *, n_classes):
    """On a worker: the chunk's number of samples of each class."""
    return np.bincount(y_index, minlength=n_classes)


def _chunk_holdout(y_index, *, seeds, quotas, block_id=None):
    """On a worker: which of a chunk's samples are held out, its quota of
    each class's, at random."""
    rng = np.random.default_rng(seeds[block_id[0]])
    held = np.zeros(len(y_index), dtype=bool)
    for k, quota in enumerate(quotas[block_id[0]]):
        if quota:
            members = np.flatnonzero(y_index == k)
            held[rng.choice(members, quota, replace=False)] = True
    return held


def _chunk_rows(a, held, *, keep):
    """On a worker: the rows of a chunk held out (``keep``) or the others."""
    return a[held if keep else ~held]


def holdout(X, Y, s, n_classes: int, fraction: float, random_state):
    """``[train, validation]``, each ``[X, Y, s]`` (Dask arrays, rows
    aligned with the chunks that have any), not persisted yet."""
    import dask
    import dask.array as da

    seeds = random_state.randint(np.iinfo(np.int32).max, size=X.numblocks[0])
    rng = np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
    with on_workers():
        counts = dask.compute(
            *(
                dask.delayed(_chunk_counts)(block, n_classes=n_classes)
                for block in Y.to_delayed()
            )
        )
    quota = quotas(np.array(counts).reshape(-1, n_classes), fraction, rng)
    # drawn once, when the caller persists the sets, which all read it
    held = Y.map_blocks(_chunk_holdout, seeds=seeds, quotas=quota, dtype=bool)
    n_held = quota.sum(axis=1)
    parts = []
    for keep, sizes in ((False, np.array(X.chunks[0]) - n_held), (True, n_held)):
        arrays = [
            da.blockwise(
                _chunk_rows,
                index,
                a,
                index,
                held,
                "i",
                keep=keep,
                adjust_chunks={"i": tuple(int(n) for n in sizes)},
                dtype=a.dtype,
                meta=a._meta,
            )
            for a, index in ((X, "ij"), (Y, "i"), (s, "i"))
        ]
        kept = [int(i) for i in np.flatnonzero(sizes)]
        if 0 < len(kept) < len(sizes):  # none: the caller's error names the set
            arrays = [a.blocks[kept] for a in arrays]
        parts.append(arrays)
    return parts
