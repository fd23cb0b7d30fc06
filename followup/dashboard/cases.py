"""Dashboard: cases (being built)."""
