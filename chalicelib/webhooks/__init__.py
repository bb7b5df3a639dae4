"""Building blocks for signed webhook delivery, each usable on its own.

- `signing`: Standard Webhooks headers and new signing secrets.
- `urls`: what a subscription's URL may look like (scheme, host, no credentials).
- `addresses`: which addresses a URL may resolve to, resolved once for the connection.
- `delivery`: one POST to a checked address, never following redirects, bounded in time and size.
- `slack`: escaping user text for Slack's message format.
- `retry`: when to try again, and when a subscription counts as paused.

Nothing is imported here: each user pays only for the module it needs (Lambda cold start).
"""
