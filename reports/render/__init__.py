"""How the report looks: the document, tables with their number formats, and figures.

Imports ``core`` and ``reports.analysis`` only.
"""
