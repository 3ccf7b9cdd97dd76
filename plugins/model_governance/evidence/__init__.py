"""The audit pack command line: ``python -m model_governance.evidence export|verify`` (see __main__)."""
