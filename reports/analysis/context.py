"""What every section of a report reads: the run table, the report's options, and the
results several sections share, each computed once."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import pandas as pd

from reports.analysis.frames import MEMORY_SUITES, main_trials
from reports.analysis.headlines import Headline, headlines
from reports.analysis.memory import memory_runs
from reports.analysis.verdict import Group, groups


@dataclass
class Context:
    """The runs of one report (``load_runs``'s table) and its ``--group-by`` keys."""

    runs: pd.DataFrame
    group_by: tuple[str, ...] = ()

    @cached_property
    def main(self) -> pd.DataFrame:
        """Every run of the main (accuracy) suites, any status."""
        return main_trials(self.runs)

    @cached_property
    def groups(self) -> list[Group]:
        """The learning verdict of every (main suite, data protocol)."""
        return groups(self.runs)

    @cached_property
    def heads(self) -> list[list[Headline]]:
        """FF against its twin and the best PyOD detector, per verdict group."""
        return [headlines(self.runs, g) for g in self.groups]

    @cached_property
    def memory_suites(self) -> list[str]:
        """The memory suites with finished runs."""
        return [s for s in MEMORY_SUITES if not memory_runs(self.runs, s).empty]

    @property
    def memory_only(self) -> bool:
        """Only memory-suite runs: the accuracy sections are left out."""
        return self.main.empty and bool(self.memory_suites)
