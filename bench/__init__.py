"""MSP benchmarks: programs, not timed tests. `python -m bench [--quick] [NAME ...]`.

Every figure is a ratio against a baseline measured side by side in the same run (see
docs/benchmarks.md for the targets, the last full run and the reasons for missed targets).
"""
