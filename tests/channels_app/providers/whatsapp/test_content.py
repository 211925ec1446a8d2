"""WhatsApp content: regular messages by type, templates, and the type/object pairing."""

from __future__ import annotations

from typing import Any

import pytest

from channels_app.content import validate_content
from tests.channels_app.content.helpers import errors_of

URL = "https://example.com/media/file.jpg"


def regular(**fields: Any) -> dict[str, Any]:
    return {"type": "regular", "regular": fields}


def template(**fields: Any) -> dict[str, Any]:
    return {"type": "template", "template": {"name": "order_update", "language": "en_US", **fields}}


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(regular(type="text", text="x" * 4096), id="text-4096"),
        pytest.param(regular(type="text", text="see https://mitto.ch", previewUrl=True), id="text-preview"),
        pytest.param(regular(type="image", url=URL, caption="x" * 1024), id="image-caption-1024"),
        pytest.param(regular(type="image", url=URL, caption=""), id="image-caption-empty"),
        pytest.param(regular(type="video", url="http://example.com/v.mp4"), id="video-http"),
        pytest.param(regular(type="audio", url="https://example.com/a.ogg"), id="audio"),
        pytest.param(
            regular(type="document", url="https://example.com/d.pdf", filename="d.pdf", caption="Invoice"),
            id="document-filename",
        ),
        pytest.param(template(), id="template-minimal"),
        pytest.param(template(name="a" * 512, language="en"), id="template-name-512"),
        pytest.param(template(language="fil"), id="template-language-3-letters"),
        pytest.param(template(parameters=["12345", "Friday"], headerParameters=["Mitto"]), id="template-params"),
        pytest.param(template(parameters=[]), id="template-no-params"),
    ],
)
def test_valid_whatsapp(content: dict[str, Any]) -> None:
    assert validate_content("whatsapp", content) == content


@pytest.mark.parametrize(
    ("content", "path"),
    [
        pytest.param({"regular": {"type": "text", "text": "hi"}}, "type", id="type-missing"),
        pytest.param({"type": "interactive"}, "type", id="type-unknown"),
        pytest.param({"type": "regular"}, "regular", id="regular-missing"),
        pytest.param({**template(), **regular(type="text", text="hi")}, "template", id="template-with-regular"),
        pytest.param({"type": "template"}, "template", id="template-missing"),
        pytest.param({**template(), "regular": {"type": "text", "text": "hi"}}, "regular", id="regular-with-template"),
        pytest.param(regular(type="sticker", url=URL), "regular.type", id="regular-type-unknown"),
        pytest.param(regular(type="text"), "regular.text", id="text-missing"),
        pytest.param(regular(type="text", text=""), "regular.text", id="text-empty"),
        pytest.param(regular(type="text", text="x" * 4097), "regular.text", id="text-4097"),
        pytest.param(regular(type="text", text="hi", url=URL), "regular.url", id="text-with-url"),
        pytest.param(regular(type="text", text="hi", caption="c"), "regular.caption", id="text-with-caption"),
        pytest.param(regular(type="image"), "regular.url", id="image-url-missing"),
        pytest.param(regular(type="image", url="ftp://example.com/a.jpg"), "regular.url", id="image-url-ftp"),
        pytest.param(regular(type="image", url=URL, text="hi"), "regular.text", id="image-with-text"),
        pytest.param(regular(type="image", url=URL, caption="x" * 1025), "regular.caption", id="caption-1025"),
        pytest.param(regular(type="audio", url=URL, caption="c"), "regular.caption", id="audio-caption"),
        pytest.param(regular(type="image", url=URL, filename="a.jpg"), "regular.filename", id="image-filename"),
        pytest.param(regular(type="video", url=URL, previewUrl=True), "regular.previewUrl", id="video-preview"),
        pytest.param(regular(type="image", url=URL, captoin="c"), "regular.captoin", id="unknown-field"),
        pytest.param(template(name="Order-Update"), "template.name", id="name-charset"),
        pytest.param(template(name="a" * 513), "template.name", id="name-513"),
        pytest.param(template(name=""), "template.name", id="name-empty"),
        pytest.param(template(language="english"), "template.language", id="language"),
        pytest.param(template(language="en_us"), "template.language", id="language-region-case"),
        pytest.param(template(parameters=["a", ""]), "template.parameters[1]", id="parameter-empty"),
        pytest.param(template(parameters=["a", "x" * 1025]), "template.parameters[1]", id="parameter-1025"),
        pytest.param(template(headerParameters="Mitto"), "template.headerParameters", id="header-not-list"),
        pytest.param(template(components=[]), "template.components", id="template-unknown-field"),
    ],
)
def test_invalid_whatsapp(content: dict[str, Any], path: str) -> None:
    assert set(errors_of("whatsapp", content)) == {path}


def test_missing_object_error_names_the_type() -> None:
    assert errors_of("whatsapp", {"type": "template"}) == {"template": ["Required when type is template."]}
