"""Airflow operators of the model governance provider."""
