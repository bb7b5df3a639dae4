"""Sending inbox notifications to the department's subscribers and configured channels.

Downstream of the inbox: the inbox table's stream feeds `handlers.on_notification`, and a
schedule (`handlers.deliver_due`) tries failed deliveries again. The audit pipeline never waits
on a receiver.
"""

# The scheduled functions' names, as app.py registers them; the deployment reads them here.
SWEEPER = "deliver_due"
REMINDERS = "send_reminders"
DIGEST = "send_digest"
SCHEDULED = (SWEEPER, REMINDERS, DIGEST)
