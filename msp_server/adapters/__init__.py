"""Integration adapters: pure functions from a session event to payloads (no I/O, no secrets)."""
