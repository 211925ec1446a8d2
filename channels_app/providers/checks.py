"""Start-up check that the registered provider packages and the static channel facts agree.

A few per-channel facts cannot come from the registry (docs/adding-a-provider.md, section 3):
the channel value and its label are static because migrations copy the model choices, and the
default base URL is read from the environment in settings. A channel registered without them,
or listed without a provider package, fails ``manage.py check`` (and so every start) with the
place to fix named, instead of a KeyError on its first message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.checks import Error, register
from django.urls import NoReverseMatch, reverse

from channels_app.providers.spec import ChannelSpec
from gateway.channels import CHANNEL_CHOICES, Channel


def channel_spec_errors(specs: Mapping[str, ChannelSpec]) -> list[Error]:
    """What is missing between ``specs`` and the static channel facts, as check errors."""
    errors: list[Error] = []
    labels = dict(CHANNEL_CHOICES)
    for channel, spec in specs.items():
        obj = f"channels_app.providers.registry: {channel}"
        if channel not in Channel.ALL:
            errors.append(Error(f"{channel!r} is not in Channel.ALL.", hint="Add it in gateway/channels.py.",
                                obj=obj, id="channels.E001"))
        if channel not in labels:
            errors.append(Error(f"{channel!r} has no label in CHANNEL_CHOICES.",
                                hint="Add it in gateway/channels.py, then run makemigrations.", obj=obj,
                                id="channels.E002"))
        if channel not in settings.PROVIDER_BASE_URLS:
            errors.append(Error(f"{channel!r} has no default base URL in PROVIDER_BASE_URLS.",
                                hint="Add it in gateway/settings.py, read from <NAME>_BASE_URL.", obj=obj,
                                id="channels.E003"))
        adapters = [spec.adapter, *(kind.adapter for kind in spec.kinds.values())]
        for adapter in adapters:
            if adapter.channel != channel:
                errors.append(Error(f"{adapter.__name__}.channel is {adapter.channel!r}, registered as {channel!r}.",
                                    obj=obj, id="channels.E004"))
        if spec.callback_route is not None:
            route = spec.callback_route
            kwargs = {"account_id": "00000000-0000-0000-0000-000000000000"} if route.account_in == "path" else None
            try:
                reverse(route.url_name, kwargs=kwargs)
            except NoReverseMatch:
                errors.append(Error(f"The callback route {route.url_name!r} does not exist.",
                                    hint="Route it in channels_app/callbacks/urls.py.", obj=obj, id="channels.E005"))
    for channel in Channel.ALL:
        if channel not in specs:
            errors.append(Error(f"Channel {channel!r} has no provider package in the registry.",
                                hint="Add its spec to SPECS in channels_app/providers/registry.py.",
                                obj="gateway.channels.Channel.ALL", id="channels.E006"))
    return errors


@register()
def registered_channels_are_complete(**_: Any) -> list[Error]:
    from channels_app.providers.registry import SPECS

    return channel_spec_errors(SPECS)
