"""Dashboard: exports (being built)."""
