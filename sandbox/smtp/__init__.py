"""A local SMTP sink for the demo and the tests: accepts every message and keeps it as a ``.eml`` file."""
