"""MLflow dataset inputs of a trial: its split's train and test parts, as metadata only."""

from __future__ import annotations

import json
from typing import Any

from mlflow.data.dataset_source import DatasetSource
from mlflow.data.meta_dataset import MetaDataset
from mlflow.entities import DatasetInput, InputTag
from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

from core import schema


class SplitSource(DatasetSource):
    """Where a split's data come from, as metadata: dataset, normal class, seed, protocol,
    the source (URL or package), preprocessing and the files' sha256. Reload the data with
    ``datasets.load_split(dataset, normal_class, seed)``; nothing is copied into the store."""

    def __init__(self, info: dict[str, Any]):
        self._info = dict(info)

    @staticmethod
    def _get_source_type() -> str:
        return schema.INPUT_SOURCE_TYPE

    def load(self, **kwargs: Any) -> Any:
        from datasets import load_split

        i = self._info
        return load_split(i["dataset"], i["normal_class"], i["seed"], **kwargs)

    @staticmethod
    def _can_resolve(raw_source: Any) -> bool:
        return False

    @classmethod
    def _resolve(cls, raw_source: Any) -> SplitSource:
        raise NotImplementedError("a split source is built from its dict (from_dict)")

    def to_dict(self) -> dict[str, Any]:
        return dict(self._info)

    @classmethod
    def from_dict(cls, source_dict: dict[Any, Any]) -> SplitSource:
        return cls(source_dict)


class SplitDataset(MetaDataset):
    """A metadata-only MLflow dataset for one part of a split, with its shape and anomaly
    share as the profile."""

    def __init__(self, source: SplitSource, name: str, digest: str, profile: dict[str, Any]):
        self._profile = profile
        super().__init__(source, name=name, digest=digest)

    @property
    def profile(self) -> dict[str, Any]:
        return self._profile

    def to_dict(self) -> dict[str, str]:
        return {**super().to_dict(), "profile": json.dumps(self._profile)}


SOURCE_KEYS = (
    "dataset",
    "normal_class",
    "seed",
    "source",
    "protocol",
    "preprocessing",
    "files_sha256",
    "split_sha256",
    "indices_sha256",
)


def dataset_inputs(parts: list[dict[str, Any]]) -> list[DatasetInput]:
    """MLflow dataset inputs (context ``train`` / ``test``) for :func:`bench.splitinfo.describe`'s
    parts: name ``<dataset>/<normal class>``, digest of the split and the part's indices,
    source and protocol in the source, shape and anomaly share in the profile."""
    inputs = []
    for part in parts:
        source = SplitSource({k: part[k] for k in SOURCE_KEYS if k in part})
        profile = {
            "num_rows": part["shape"][0],
            "shape": part["shape"],
            "anomaly_share": part["anomaly_share"],
            "contaminated": part.get("contaminated", False),
        }
        dataset = SplitDataset(source, part["name"], part["digest"], profile)
        tag = InputTag(key=MLFLOW_DATASET_CONTEXT, value=part["context"])
        inputs.append(DatasetInput(dataset=dataset._to_mlflow_entity(), tags=[tag]))
    return inputs
