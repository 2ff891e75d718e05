"""Bridges from a dvsmith gym to where agents and CI run: Harbor task folders, a JSONL dataset, JUnit XML
and Prometheus metrics. Each reads a build's output folder (OUT) and never modifies it."""
