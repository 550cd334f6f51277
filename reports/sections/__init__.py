"""The sections of the report, in report order.

A section is a module with ``write(doc, ctx)``: it adds its Markdown (and its ``tables/*.tex``
and ``figures/*``) to ``doc`` (``reports.render.document.Document``) from the runs and shared
results in ``ctx`` (``reports.analysis.context.Context``), or nothing when it has no data.
Adding a section: one module here plus one entry in ``SECTIONS``. The modules not listed
(``frontier``, ``memory_tables``, ``tradeoff_tables``) are parts and tables of a section.
"""

from reports.sections import (
    ablation,
    appendix,
    best,
    cost,
    findings,
    memory,
    metrics,
    problems,
    ranks,
    setup,
    stream,
    tradeoff,
    tuned,
    twins,
    verdict,
)

SECTIONS = (
    findings,
    verdict,
    best,
    tuned,
    setup,
    metrics,
    twins,
    ranks,
    cost,
    stream,
    memory,
    tradeoff,
    ablation,
    problems,
    appendix,
)
