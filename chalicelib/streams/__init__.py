"""Reacting to table changes: stream records → audit entries and notifications.

records.py and audit.py / notifications.py are pure; sinks.py writes; driver.py
holds the batch semantics (order, partial failure, permanent vs transient); pipeline.py joins
them for one entity type, chalicelib/context.py builds it, and handlers.py runs each batch (for
Lambda and for the local poller). Sending notifications out is chalicelib/delivery/'s work, from
the inbox's own stream.
"""
