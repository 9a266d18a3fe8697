"""Provider adapters for SMS and WhatsApp: pure code, no database and no web framework."""

from channels.base import (
    BadRequest,
    ChannelError,
    DeliveryStatus,
    Forbidden,
    InboundMessage,
    Media,
    NotConfigured,
    OutboundMessage,
    SendResult,
    TooLarge,
    is_forward,
)

__all__ = [
    "BadRequest",
    "ChannelError",
    "DeliveryStatus",
    "Forbidden",
    "InboundMessage",
    "Media",
    "NotConfigured",
    "OutboundMessage",
    "SendResult",
    "TooLarge",
    "is_forward",
]
