"""Telegram content: one-of message kinds, Bot API limits and the Chat API's document rule."""

from __future__ import annotations

from typing import Any

import pytest

from channels_app.content import validate_content
from tests.channels_app.content.helpers import errors_of

URL = "https://example.com/media/file.jpg"


@pytest.mark.parametrize(
    "content",
    [
        pytest.param({"text": {"message": "x"}}, id="message-1"),
        pytest.param({"text": {"message": "x" * 4096}}, id="message-4096"),
        pytest.param({"silent": False, "text": {"message": "hi", "parseMode": "MarkdownV2"}}, id="silent-false"),
        pytest.param({"text": {"message": "hi", "parseMode": "Default", "noPreview": True}}, id="default-mode"),
        pytest.param({"photo": {"url": URL, "caption": ""}}, id="caption-empty"),
        pytest.param({"photo": {"url": URL, "caption": "x" * 1024}}, id="caption-1024"),
        pytest.param({"video": {"url": URL, "parseMode": "Markdown"}}, id="video-without-caption"),
        pytest.param({"voice": {"url": "http://example.com/a.ogg", "caption": "c"}}, id="voice-http"),
        pytest.param({"document": {"url": "https://example.com/a.PDF?download=1"}}, id="document-pdf-upper-query"),
        pytest.param({"document": {"url": "https://example.com/anim.gif"}}, id="document-gif"),
        pytest.param({"document": {"url": "https://example.com/a.zip#frag"}}, id="document-zip"),
        pytest.param({"location": {"latitude": 90, "longitude": -180}}, id="location-edges-high-lat"),
        pytest.param({"location": {"latitude": -90, "longitude": 180}}, id="location-edges-low-lat"),
    ],
)
def test_valid_telegram(content: dict[str, Any]) -> None:
    assert validate_content("telegram", content) == content


@pytest.mark.parametrize(
    ("content", "path"),
    [
        pytest.param({}, "non_field_errors", id="no-content"),
        pytest.param({"silent": True}, "non_field_errors", id="only-silent"),
        pytest.param({"text": {"message": "hi"}, "photo": {"url": URL}}, "non_field_errors", id="text-and-photo"),
        pytest.param({"text": {"message": ""}}, "text.message", id="message-empty"),
        pytest.param({"text": {"message": "x" * 4097}}, "text.message", id="message-4097"),
        pytest.param({"text": {"message": "hi", "parseMode": "Plain"}}, "text.parseMode", id="parse-mode"),
        pytest.param({"text": {"message": "hi", "noPreview": "maybe"}}, "text.noPreview", id="no-preview"),
        pytest.param({"silent": "maybe", "text": {"message": "hi"}}, "silent", id="silent-not-bool"),
        pytest.param({"photo": {"url": URL, "caption": "x" * 1025}}, "photo.caption", id="caption-1025"),
        pytest.param({"photo": {"caption": "c"}}, "photo.url", id="url-missing"),
        pytest.param({"video": {"url": "not a url"}}, "video.url", id="url-invalid"),
        pytest.param({"voice": {"url": "ftp://example.com/a.ogg"}}, "voice.url", id="url-not-http"),
        pytest.param({"document": {"url": "https://example.com/a.docx"}}, "document.url", id="document-docx"),
        pytest.param({"document": {"url": "https://example.com/a.pdf.exe"}}, "document.url", id="document-double-ext"),
        pytest.param(
            {"document": {"url": "https://example.com/get?file=a.pdf"}}, "document.url", id="document-ext-in-query"
        ),
        pytest.param({"location": {"latitude": 90.0001, "longitude": 0}}, "location.latitude", id="lat-over"),
        pytest.param({"location": {"latitude": -90.0001, "longitude": 0}}, "location.latitude", id="lat-under"),
        pytest.param({"location": {"latitude": 0, "longitude": 180.0001}}, "location.longitude", id="lon-over"),
        pytest.param({"location": {"latitude": 0, "longitude": -180.0001}}, "location.longitude", id="lon-under"),
        pytest.param({"location": {"latitude": 0}}, "location.longitude", id="lon-missing"),
    ],
)
def test_invalid_telegram(content: dict[str, Any], path: str) -> None:
    assert set(errors_of("telegram", content)) == {path}


def test_document_error_says_which_types_are_allowed() -> None:
    errors = errors_of("telegram", {"document": {"url": "https://example.com/a.docx"}})

    assert errors == {"document.url": ["Only .gif, .pdf and .zip documents can be sent."]}
