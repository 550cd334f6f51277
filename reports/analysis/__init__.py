"""The numbers of the report: runs read into frames, aggregated, tested and ranked.

Imports ``core`` only (never the harness, the renderer or the sections).
"""
