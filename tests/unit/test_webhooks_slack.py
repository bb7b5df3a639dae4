"""User text in Slack messages: shown as written, never obeyed."""

import unicodedata

from chalicelib.webhooks.slack import escape_slack_text


def test_a_mention_and_a_disguised_link_arrive_as_plain_text():
    # Given a title written to ping everyone and hide a phishing link behind Korean words
    title = "<!channel> 긴급 <https://evil.example/login|비밀번호 재설정>"
    # When it is escaped for Slack
    escaped = escape_slack_text(title)
    # Then no angle bracket is left for Slack to read as a command, and the words are intact
    assert escaped == "&lt;!channel&gt; 긴급 &lt;https://evil.example/login|비밀번호 재설정&gt;"


def test_an_ampersand_is_escaped_once_and_first():
    # Text that already looks escaped must still show literally, not as `<`
    assert escape_slack_text("R&D: a &lt; b > c") == "R&amp;D: a &amp;lt; b &gt; c"


def test_korean_text_stays_byte_for_byte_in_either_normal_form():
    # Given the same words composed (NFC) and decomposed (NFD, as some systems write them)
    composed = "팀 회의: 오후 3시, 3층 회의실"
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed.encode() != decomposed.encode()
    # Then escaping changes neither: no normalisation, no re-encoding
    for text in (composed, decomposed):
        assert escape_slack_text(text).encode("utf-8") == text.encode("utf-8")


def test_text_without_special_characters_is_unchanged():
    assert escape_slack_text("") == ""
    plain = "일정 변경 — 3/4 * _굵게_ `코드` | 끝"
    assert escape_slack_text(plain) == plain
