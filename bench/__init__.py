"""Benchmarks: each prints its rate beside a baseline measured in the same run, as a ratio.

Speed targets live here, never in timed tests. `make bench` runs bench.drain.
"""
