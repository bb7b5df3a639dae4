"""User text inside Slack messages.

Slack reads `<...>` as control sequences: `<!channel>` notifies everyone in the channel and
`<https://a|b>` shows a link whose text hides its address. Slack asks senders to escape exactly
three characters in text (`&`, `<`, `>`); nothing else changes, so Korean text arrives as it
was written, byte for byte.
"""

# `&` first: escaping it after the others would turn `&lt;` into `&amp;lt;`.
_ESCAPES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"))


def escape_slack_text(text: str) -> str:
    """`text` as Slack will show it literally: no mentions, links or formatting commands."""
    for character, entity in _ESCAPES:
        text = text.replace(character, entity)
    return text
