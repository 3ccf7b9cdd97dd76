"""Application services: plain classes with their collaborators passed in, no Airflow imports.

Operators, sensors, triggers and the dashboard are thin adapters over these (the way ``sync.LifecycleSync``
is used by the sync DAG): each piece of governance logic exists once, here or in a domain module.
"""
