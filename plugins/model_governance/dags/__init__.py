"""The governance DAGs, shipped in the package: a deployment's dags folder imports each one in one line.

Each module defines one DAG named after the module, as a module global ``dag``.
"""
