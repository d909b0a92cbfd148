"""Evaluation: gold cases, metrics, the runner, ablations, reports and the CI thresholds.

An entry point like the UI and the CLI: it takes the answer function as an argument, so tests
can pass any callable, and nothing in the product imports it.
"""
