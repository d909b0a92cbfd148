"""Helpers shared by `tests/` and `bench/`: real servers to start and load to put on them."""
