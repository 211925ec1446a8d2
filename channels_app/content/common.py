"""Building blocks shared by the per-channel content serializers.

They exist so that every channel gets the same three guarantees without repeating them:
unknown keys are refused instead of silently dropped, errors inside arrays are always reported as a
list by index (whatever DRF's ``LIST_SERIALIZER_ERRORS_AS_DICT`` setting says), and an array's own
length error sits at the array's path rather than under a synthetic ``non_field_errors`` key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.core.validators import URLValidator
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.settings import api_settings

UNKNOWN_FIELD = "Unknown field."
NON_FIELD_ERRORS = api_settings.NON_FIELD_ERRORS_KEY


def validate_items(items: Iterable[Any], validate: Callable[[Any], Any], *, valid_marker: Any) -> list[Any]:
    """Validate every item; on any error raise one list by index, ``valid_marker`` for good items
    (``{}`` for objects, ``[]`` for plain values), so paths such as ``cards[3].title`` survive."""
    validated: list[Any] = []
    errors: list[Any] = []
    failed = False
    for item in items:
        try:
            validated.append(validate(item))
            errors.append(valid_marker)
        except ValidationError as exc:
            errors.append(exc.detail)
            failed = True
    if failed:
        raise ValidationError(errors)
    return validated


class IndexedListSerializer(serializers.ListSerializer):
    """A ``many=True`` list whose errors are a list by index, with ``{}`` for valid items.

    DRF 3.18 deprecates that shape in favour of a dict keyed by index and reports length errors
    under ``non_field_errors``; the problem handler turns details into JSON paths such as
    ``cardContents[3].media.height``, which needs the list shape and length errors on the list.
    """

    # Set by ListSerializer.__init__; the stubs leave the attributes out.
    max_length: int | None
    min_length: int | None

    def to_internal_value(self, data: Any) -> list[Any]:
        if not isinstance(data, list):
            raise ValidationError(
                [self.error_messages["not_a_list"].format(input_type=type(data).__name__)],
                code="not_a_list",
            )
        if not self.allow_empty and not data:
            raise ValidationError([self.error_messages["empty"]], code="empty")
        if self.max_length is not None and len(data) > self.max_length:
            message = self.error_messages["max_length"].format(max_length=self.max_length)
            raise ValidationError([message], code="max_length")
        if self.min_length is not None and len(data) < self.min_length:
            message = self.error_messages["min_length"].format(min_length=self.min_length)
            raise ValidationError([message], code="min_length")

        return validate_items(data, self.run_child_validation, valid_marker={})


class StrictSerializer(serializers.Serializer):
    """Refuses keys it does not declare and reads JSON ``null`` on an optional field as absent.

    Refusing unknown keys matters because a typo such as ``captoin`` would otherwise be dropped
    and the message sent without its caption. Nulls are tolerated because the Chat API this
    gateway replaces is a .NET service (its timestamps carry .NET's seven fractional digits), and
    .NET clients commonly serialise unset optional properties as ``null``.
    """

    class Meta:
        list_serializer_class = IndexedListSerializer

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        unknown: dict[str, list[ErrorDetail]] = {}
        if isinstance(data, Mapping):
            data = {
                key: value
                for key, value in data.items()
                if not (value is None and key in self.fields and not self.fields[key].required)
            }
            unknown = {
                str(key): [ErrorDetail(UNKNOWN_FIELD, code="unknown_field")] for key in data if key not in self.fields
            }
        try:
            value = super().to_internal_value(data)
        except ValidationError as exc:
            if unknown and isinstance(exc.detail, dict):
                raise ValidationError({**exc.detail, **unknown}) from exc
            raise
        if unknown:
            raise ValidationError(unknown)
        return dict(value)


class IndexedListField(serializers.ListField):
    """A list of plain values whose item errors are a list by index (``[]`` for valid items)."""

    def run_child_validation(self, data: Iterable[Any]) -> list[Any]:
        return validate_items(data, self.child.run_validation, valid_marker=[])


class EnumField(serializers.ChoiceField):
    """A choice matched case-insensitively and returned in its canonical spelling.

    .NET's JSON enum binding ignores case, so clients written against the original API may send
    ``"HTML"`` or ``"tall"``; adapters then only ever see the canonical value.
    """

    def __init__(self, choices: Iterable[str], **kwargs: Any) -> None:
        super().__init__(choices=list(choices), **kwargs)

    def to_internal_value(self, data: Any) -> str:
        if isinstance(data, str):
            wanted = data.strip().casefold()
            for choice in self.choices:
                if str(choice).casefold() == wanted:
                    return str(choice)
        self.fail("invalid_choice", input=data)
        raise AssertionError("unreachable")  # pragma: no cover - fail() always raises


class HttpUrlField(serializers.CharField):
    """An absolute http(s) URL: providers fetch media themselves, so nothing else can work."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 2048)
        super().__init__(**kwargs)
        self.validators.append(URLValidator(schemes=["http", "https"], message="Enter a valid http(s) URL."))


def _not_only_whitespace(value: str) -> None:
    if not value.strip():
        raise ValidationError("This field may not be blank.", code="blank")


class MessageTextField(serializers.CharField):
    """User-visible text: kept byte for byte (no trimming), but never empty or only whitespace."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)
        if not self.allow_blank:
            self.validators.append(_not_only_whitespace)


def present(attrs: Mapping[str, Any], names: Iterable[str]) -> list[str]:
    """The names among ``names`` that were given, in declaration order."""
    return [name for name in names if name in attrs]


def exactly_one(attrs: Mapping[str, Any], names: tuple[str, ...]) -> None:
    """Enforce a one-of group; the error is object-level because no single field is at fault."""
    given = present(attrs, names)
    if len(given) == 1:
        return
    choices = ", ".join(names)
    if not given:
        raise ValidationError({NON_FIELD_ERRORS: [f"Give exactly one of: {choices}."]}, code="required")
    raise ValidationError(
        {NON_FIELD_ERRORS: [f"Give exactly one of: {choices}; got {', '.join(given)}."]}, code="invalid"
    )
