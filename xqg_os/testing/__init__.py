"""Tiny local models for tests and benchmarks: built in seconds, no network, fixed seeds."""
