"""A Jira REST stand-in on loopback (Cloud or Data Center flavour) that the real `jira` client works with.

Run it with `python -m sandbox.jira --port PORT`; see sandbox/README.md for what it emulates.
"""
