"""What identifies the data of a trial: its split's train and test parts, as plain dicts the
driver logs as MLflow dataset inputs (:func:`bench.tracking.inputs.dataset_inputs`). Metadata only:
the rows never leave the worker."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np


def _indices_sha256(idx: Any) -> str:
    return hashlib.sha256(np.ascontiguousarray(idx, dtype=np.int64).tobytes()).hexdigest()


def describe(split: Any) -> list[dict[str, Any]]:
    """One dict per part (``train``, ``test``) of a batch split; ``[]`` for a stream.

    ``split_sha256`` hashes what determines the split's data: the source files' (or arrays')
    sha256, protocol, preprocessing, dataset, normal class, seed and both parts' row indices;
    ``digest`` is the first 12 hex digits of it joined to the first 8 of the part's indices'
    sha256, so two runs show the same digest exactly when they used the same rows."""
    if not hasattr(split, "X_train"):
        return []
    prov = split.provenance
    parts = {"train": split.train_idx, "test": split.test_idx}
    indices = {context: _indices_sha256(idx) for context, idx in parts.items()}
    header = {
        "dataset": split.dataset,
        "normal_class": str(split.normal_class),
        "seed": int(split.seed),
        "protocol": prov.protocol,
        "preprocessing": prov.preprocessing,
        "files_sha256": prov.sha256,
        "indices_sha256": indices,
    }
    split_sha = hashlib.sha256(json.dumps(header, sort_keys=True).encode()).hexdigest()
    y_train = split.y_train
    share = {
        "train": float(np.mean(y_train)) if y_train is not None and len(y_train) else 0.0,
        "test": float(np.mean(split.y_test)) if len(split.y_test) else 0.0,
    }
    arrays = {"train": split.X_train, "test": split.X_test}
    out = []
    for context in ("train", "test"):
        out.append(
            {
                "context": context,
                "name": f"{split.dataset}/{split.normal_class}",
                "digest": f"{split_sha[:12]}-{indices[context][:8]}",
                "dataset": split.dataset,
                "normal_class": str(split.normal_class),
                "seed": int(split.seed),
                "source": prov.source,
                "protocol": prov.protocol,
                "preprocessing": prov.preprocessing,
                "files_sha256": dict(prov.sha256),
                "split_sha256": split_sha,
                "indices_sha256": indices[context],
                "shape": [int(n) for n in arrays[context].shape],
                "anomaly_share": share[context],
                "contaminated": bool(split.contaminated),
            }
        )
    return out
