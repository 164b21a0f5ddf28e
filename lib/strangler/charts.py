"""Altair charts for the reports, and the offline renderer that inlines Vega once per report.

Sections below are owned by one feature each; add chart builders to your own section only.
"""
from __future__ import annotations

# === core: theme, offline renderer, generic builders (report) ===

# === ingest (01_ingest) ===

# === endpoints (02_endpoints) ===

# === priorities (03_priorities) ===

# === review and progress (04_batch_review, 05_progress) ===
