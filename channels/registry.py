"""The configured provider adapters, and the questions the app asks of them.

Every module of the `channels` package that exposes `make_adapter` and `PREFERENCE` (see
channels.adapter) is a provider: `build(settings)` makes one adapter from each, in order
of preference, from the app's settings object. The outbox sends through `adapter(...)`,
picks a sender with `senders(...)`, and the intake asks `capabilities(...)`. No provider
is named here, nor anywhere outside its own module.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from functools import cache
from types import ModuleType
from typing import Any

import channels
from channels.adapter import Capabilities, ChannelAdapter, ChannelName, Webhook
from channels.base import Media

# The app's settings object, or any object with the providers' settings as attributes:
# each provider reads its own, and takes one that is absent as unset.
Credentials = Any


@dataclass(frozen=True)
class Registry:
    """The adapters, in order of preference for a reporter who never wrote through any."""

    adapters: tuple[ChannelAdapter, ...]

    def adapter(self, provider: str) -> ChannelAdapter:
        for found in self.adapters:
            if found.provider == provider:
                return found
        raise KeyError(provider)

    def capabilities(self, channel: str, provider: str | None = None) -> Capabilities:
        name = ChannelName(channel)
        serving = [a for a in self.adapters if name in a.channels]
        chosen = next((a for a in serving if a.provider == provider), None) or serving[0]
        return chosen.capabilities(name)

    def outbound_channel(self, channel: str) -> ChannelName | None:
        """The channel a reporter of `channel` is written to (None: web and field)."""
        if channel not in ChannelName.__members__:
            return None
        return self.capabilities(channel).outbound_channel

    def senders(self, channel: str) -> list[str]:
        """Providers able to send to a reporter of `channel` now, in order of preference."""
        out = self.outbound_channel(channel)
        return [a.provider for a in self.adapters if out is not None and a.sends(out)]

    def webhooks(self) -> list[tuple[str, Webhook]]:
        """Every provider's endpoints, with the provider that answers them."""
        return [(a.provider, hook) for a in self.adapters for hook in a.webhooks()]

    def sendable_channels(self) -> list[str]:
        return [c.value for c in ChannelName if self.senders(c.value)]

    def choose(self, channel: str, last_inbound_provider: str | None) -> str | None:
        """The sender for a reporter: the provider they last wrote through when it can
        send, else the first that can."""
        able = self.senders(channel)
        if last_inbound_provider in able:
            return last_inbound_provider
        return able[0] if able else None


def build(credentials: Credentials, public_url: str = "") -> Registry:
    return Registry(tuple(m.make_adapter(credentials, public_url) for m in _provider_modules()))


@cache
def _provider_modules() -> tuple[ModuleType, ...]:
    """The provider modules of the package, in order of preference (then of name)."""
    found: list[ModuleType] = []
    for info in pkgutil.iter_modules(channels.__path__):
        module = importlib.import_module(f"{channels.__name__}.{info.name}")
        if callable(getattr(module, "make_adapter", None)):
            found.append(module)
    return tuple(sorted(found, key=lambda m: (int(m.PREFERENCE), m.__name__)))


class _Blank:
    """Settings with nothing set."""


# What a channel can do does not depend on credentials: asked without any.
_KNOWN = build(_Blank())


def webhooks() -> list[tuple[str, Webhook]]:
    return _KNOWN.webhooks()


def capabilities(channel: str, provider: str | None = None) -> Capabilities:
    """What `channel` can do through `provider` (its first provider when None)."""
    return _KNOWN.capabilities(channel, provider)


def media_ref(provider: str, media: Media) -> str | None:
    """What `provider`'s media is fetched by later (None: nothing to fetch)."""
    return _KNOWN.adapter(provider).media_ref(media)


def max_body(provider: str) -> int:
    """The largest webhook body `provider` ever sends (its requests stop there)."""
    return _KNOWN.adapter(provider).max_body


def providers() -> list[str]:
    """Every provider there is an adapter for (metrics list them all, configured or not)."""
    return [a.provider for a in _KNOWN.adapters]
