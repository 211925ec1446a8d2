"""Viber content: types, the at-least-one rule, limits, buttons, files and keyboards."""

from __future__ import annotations

from typing import Any

import pytest

from channels_app.content import validate_content
from tests.channels_app.content.helpers import errors_of

IMAGE = "https://www.gstatic.com/webp/gallery3/1.png"
PDF = "https://example.com/files/report.pdf"
BUTTON = {"caption": "Scan!", "action": "viber://more/qr"}


def viber(**fields: Any) -> dict[str, Any]:
    return {"type": "promotional", **fields}


def keyboard(buttons: int) -> dict[str, Any]:
    return {
        "Type": "keyboard",
        "DefaultHeight": False,
        "Buttons": [{"ActionType": "reply", "ActionBody": f"b{i}", "Text": f"B{i}"} for i in range(buttons)],
    }


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(viber(text="x" * 1000), id="text-1000"),
        pytest.param(viber(type="session", mediaUrl=IMAGE), id="session-media"),
        pytest.param(viber(type="transactional", text="Your code is 1234", ttl=30), id="ttl-30"),
        pytest.param(viber(text="hi", ttl=1_209_600), id="ttl-1209600"),
        pytest.param(viber(text="hi", button={"caption": "x" * 30, "action": "https://mitto.ch"}), id="caption-30"),
        pytest.param(viber(text="hi", button={"caption": "Go", "action": "viber://chats"}), id="action-scheme"),
        pytest.param(viber(type="session", text="hi", button=BUTTON), id="session-button"),
        pytest.param(viber(file={"mediaUrl": PDF, "fileName": "x" * 21 + ".pdf", "size": 1}), id="file-name-25"),
        pytest.param(viber(keyboard=keyboard(1)), id="keyboard-alone-1-button"),
        pytest.param(viber(text="hi", keyboard=keyboard(24)), id="keyboard-24-buttons"),
        pytest.param(viber(text="hi", button=BUTTON, keyboard=keyboard(23)), id="keyboard-23-and-button"),
        pytest.param(
            viber(text="hi", keyboard={**keyboard(1), "InputFieldState": "hidden", "Custom": {"any": 1}}),
            id="keyboard-passed-through",
        ),
    ],
)
def test_valid_viber(content: dict[str, Any]) -> None:
    assert validate_content("viber", content) == content


def test_empty_media_url_means_no_media() -> None:
    content = {"type": "regular", "text": "Hi", "mediaUrl": ""}

    assert validate_content("viber", content) == {"type": "regular", "text": "Hi"}


@pytest.mark.parametrize(
    ("url", "file_name"),
    [
        (PDF, "report.pdf"),
        ("https://example.com/a/My%20File.docx?token=1", "My File.docx"),
    ],
)
def test_file_name_is_taken_from_the_url_when_missing(url: str, file_name: str) -> None:
    cleaned = validate_content("viber", viber(file={"mediaUrl": url}))

    assert cleaned["file"] == {"mediaUrl": url, "fileName": file_name}


@pytest.mark.parametrize(
    ("content", "path"),
    [
        pytest.param({"text": "hi"}, "type", id="type-missing"),
        pytest.param(viber(type="broadcast", text="hi"), "type", id="type-unknown"),
        pytest.param(viber(), "non_field_errors", id="no-content"),
        pytest.param(viber(mediaUrl=""), "non_field_errors", id="only-empty-media-url"),
        pytest.param(viber(ttl=90), "non_field_errors", id="only-ttl"),
        pytest.param(viber(text=""), "text", id="text-empty"),
        pytest.param(viber(text="x" * 1001), "text", id="text-1001"),
        pytest.param(viber(text="hi", ttl=29), "ttl", id="ttl-29"),
        pytest.param(viber(text="hi", ttl=1_209_601), "ttl", id="ttl-1209601"),
        pytest.param(viber(mediaUrl="www.example.com/a.png"), "mediaUrl", id="media-url-no-scheme"),
        pytest.param(viber(button=BUTTON), "text", id="button-without-text"),
        pytest.param(viber(mediaUrl=IMAGE, button=BUTTON), "text", id="image-button-without-text"),
        pytest.param(
            viber(text="hi", button={"caption": "x" * 31, "action": "viber://chats"}), "button.caption", id="caption-31"
        ),
        pytest.param(viber(text="hi", button={"caption": "Go"}), "button.action", id="action-missing"),
        pytest.param(
            viber(text="hi", button={"caption": "Go", "action": "ftp://x.com"}), "button.action", id="action-ftp"
        ),
        pytest.param(
            viber(text="hi", button={"caption": "Go", "action": "javascript:alert(1)"}),
            "button.action",
            id="action-javascript",
        ),
        pytest.param(viber(text="hi", button={**BUTTON, "captoin": "x"}), "button.captoin", id="button-unknown"),
        pytest.param(viber(type="transactional", mediaUrl=IMAGE), "mediaUrl", id="transactional-media"),
        pytest.param(viber(type="transactional", file={"mediaUrl": PDF}), "file", id="transactional-file"),
        pytest.param(viber(mediaUrl=IMAGE, file={"mediaUrl": PDF}), "file", id="media-and-file"),
        pytest.param(viber(file={}), "file.mediaUrl", id="file-url-missing"),
        pytest.param(viber(file={"mediaUrl": PDF, "fileName": "x" * 22 + ".pdf"}), "file.fileName", id="file-name-26"),
        pytest.param(viber(file={"mediaUrl": PDF, "size": 0}), "file.size", id="file-size-0"),
        pytest.param(
            viber(file={"mediaUrl": "https://example.com/download?id=3"}), "file.fileName", id="file-name-not-derivable"
        ),
        pytest.param(viber(keyboard={"Buttons": keyboard(1)["Buttons"]}), "keyboard", id="keyboard-type-missing"),
        pytest.param(viber(keyboard={**keyboard(1), "Type": "rich_media"}), "keyboard", id="keyboard-type-wrong"),
        pytest.param(viber(keyboard=keyboard(0)), "keyboard", id="keyboard-0-buttons"),
        pytest.param(viber(keyboard=keyboard(25)), "keyboard", id="keyboard-25-buttons"),
        pytest.param(viber(keyboard={"Type": "keyboard", "Buttons": ["yes"]}), "keyboard", id="keyboard-button-str"),
        pytest.param(viber(text="hi", button=BUTTON, keyboard=keyboard(24)), "keyboard", id="keyboard-24-and-button"),
    ],
)
def test_invalid_viber(content: dict[str, Any], path: str) -> None:
    assert set(errors_of("viber", content)) == {path}


def test_transactional_media_error_explains_the_type_rule() -> None:
    errors = errors_of("viber", viber(type="transactional", text="hi", mediaUrl=IMAGE))

    assert errors == {"mediaUrl": ["Not allowed for transactional messages; use promotional or session."]}
