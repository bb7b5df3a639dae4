"""Reacting to table changes: stream records → audit entries and notifications.

records.py and audit.py / notifications.py are pure; sinks.py and channels.py write; driver.py
holds the batch semantics (order, partial failure, permanent vs transient); handlers.py wires
them for Lambda and for the local poller.
"""
