"""Dashboard: experiments (being built)."""
