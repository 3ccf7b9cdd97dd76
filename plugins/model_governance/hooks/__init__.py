"""Hooks: the only code that opens connections (Jira, SageMaker Model Registry, the inventory)."""
