"""Airflow notifications of the model governance provider."""
