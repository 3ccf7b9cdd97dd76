"""Airflow sensors of the model governance provider."""
