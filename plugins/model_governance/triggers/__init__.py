"""Airflow triggers of the model governance provider."""
