"""Measuring: evaluation sets, retrieval and answer figures, reports."""
