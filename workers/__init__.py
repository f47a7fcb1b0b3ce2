"""Celery app and thin tasks. Tasks take ids, re-fetch rows and call services."""
