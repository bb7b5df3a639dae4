"""Sending inbox notifications to the department's subscribers and configured channels.

Downstream of the inbox: the inbox table's stream feeds `handlers.on_notification`, and a
schedule (`handlers.deliver_due`) tries failed deliveries again. The audit pipeline never waits
on a receiver.
"""

# The scheduled function's name, as app.py registers it; the deployment's alarms read it here.
SWEEPER = "deliver_due"
