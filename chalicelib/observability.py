"""Structured logs and metrics (Powertools), made once for the whole app."""

from aws_lambda_powertools import Logger, Metrics

SERVICE = "department-calendar"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace="DepartmentCalendar", service=SERVICE)
