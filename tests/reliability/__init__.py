"""Reliability suites (docs RELIABILITY.md rows R1, R3, R8 and bad-input safety)."""
