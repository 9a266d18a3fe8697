"""Twilio Messaging (SMS and WhatsApp): webhook parsing and verification, TwiML, sending."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl

import httpx
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from channels.adapter import (
    WHATSAPP_WINDOW,
    Capabilities,
    ChannelName,
    Parsed,
    Reply,
    Webhook,
    WebhookKind,
    WebhookRequest,
)
from channels.base import (
    BadRequest,
    DeliveryStatus,
    Fetched,
    FetchFailed,
    Forbidden,
    InboundMessage,
    LookupFailed,
    Media,
    NotConfigured,
    OutboundMessage,
    SendResult,
    TooLarge,
    clean_text,
    download,
    transport_failure,
)

TWILIO_MAX_BODY = 64 * 1024
# Twilio acts on these single-word messages itself (PROVIDERS.md); they still arrive.
TWILIO_KEYWORDS = frozenset(
    {"STOP", "UNSUBSCRIBE", "END", "QUIT", "STOPALL", "REVOKE", "OPTOUT", "CANCEL"}
    | {"START", "YES", "UNSTOP", "HELP", "INFO"}
)
TWILIO_STATUS_PATH = "/channels/twilio/status"
# Twilio sends a few dozen fields (at most 10 media items); the cap bounds parsing work.
_MAX_FIELDS = 1000
_MAX_MEDIA = 10

_STATUS_MAP = {
    "queued": "queued",
    "accepted": "queued",
    "scheduled": "queued",
    "sending": "queued",
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "failed": "failed",
    "undelivered": "undelivered",
    "canceled": "failed",
}
_ERROR_TEXT = {"21610": "opted_out", "63016": "outside_window"}
# Characters XML 1.0 cannot carry at all, even escaped.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


class FormParams(Mapping[str, str]):
    """Form fields as they arrived. Indexing gives the first value of a repeated name;
    `getall` gives every value, which is what RequestValidator signs over."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self._all: dict[str, list[str]] = {}
        for name, value in pairs:
            self._all.setdefault(name, []).append(value)

    def __getitem__(self, name: str) -> str:
        return self._all[name][0]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all)

    def __len__(self) -> int:
        return len(self._all)

    def getall(self, name: str) -> list[str]:
        return list(self._all[name])


def parse_form(body: bytes) -> FormParams:
    """Parse an application/x-www-form-urlencoded body strictly, keeping blank values."""
    if len(body) > TWILIO_MAX_BODY:
        raise TooLarge(f"form body over {TWILIO_MAX_BODY} bytes")
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            strict_parsing=bool(text),
            encoding="utf-8",
            errors="strict",
            max_num_fields=_MAX_FIELDS,
        )
    except UnicodeDecodeError:
        raise BadRequest("form body is not valid UTF-8") from None
    except ValueError:
        raise BadRequest("form body is not valid x-www-form-urlencoded") from None
    return FormParams(pairs)


def verify_signature(
    *,
    auth_token: str | None,
    public_url: str,
    path: str,
    query: str,
    params: Mapping[str, str],
    signature: str | None,
) -> None:
    """Check X-Twilio-Signature over GRIEVANCE_PUBLIC_URL + path (+ query) and every param.

    Pass `params` as returned by `parse_form` (or any mapping with `getall`/`getlist`) so
    repeated names are signed with all their values; a plain dict only carries one.
    """
    if not auth_token:
        raise NotConfigured("TWILIO_AUTH_TOKEN is not set")
    if not signature:
        raise Forbidden("missing X-Twilio-Signature")
    url = public_url.rstrip("/") + path + ("?" + query if query else "")
    if not RequestValidator(auth_token).validate(url, params, signature):
        raise Forbidden("invalid X-Twilio-Signature")


# Twilio resource ids: two letters naming the kind, then 32 hex digits.
_SID = re.compile(r"([A-Za-z]{2})([0-9A-Fa-f]{32})")
MESSAGE_KINDS = frozenset({"SM", "MM"})
_MESSAGE_SID_FIELDS = ("MessageSid", "SmsMessageSid", "SmsSid")


def canonical_sid(value: str, kinds: frozenset[str]) -> str:
    """A provider id in one spelling (kind upper case, digits lower case), or BadRequest.

    The signature concatenates names and values with no separator, so a captured request
    can move the boundary: `MessageSid` extended by the next parameter's name and value,
    that parameter dropped, still signs the same. Checking the shape closes that."""
    found = _SID.fullmatch(value)
    if found is None or found.group(1).upper() not in kinds:
        raise BadRequest("a message id is not a Twilio message SID")
    return found.group(1).upper() + found.group(2).lower()


def _message_sid(params: Mapping[str, str], fields: tuple[str, ...]) -> str:
    """The message SID; every copy Twilio sends (SmsSid, ...) must be well formed and agree."""
    sids = {canonical_sid(params[name], MESSAGE_KINDS) for name in fields if params.get(name)}
    if not sids:
        raise BadRequest("missing MessageSid")
    if len(sids) > 1:
        raise BadRequest("MessageSid, SmsMessageSid and SmsSid differ")
    return sids.pop()


def _get(params: Mapping[str, str], *names: str) -> str:
    for name in names:
        value = params.get(name, "").strip()
        if value:
            return value
    return ""


def _address(value: str) -> str:
    # Twilio WhatsApp addresses are "whatsapp:+E164"; store the bare number so the same
    # person is the same sender whatever channel they use.
    return value[len("whatsapp:") :] if value.lower().startswith("whatsapp:") else value


def _int(value: str, default: int) -> int:
    try:
        return int(value)
    except ValueError:
        return default


def parse_inbound(
    params: Mapping[str, str], *, channel: str, now: datetime | None = None
) -> InboundMessage:
    """Turn an inbound SMS/WhatsApp webhook into an InboundMessage; unknown params are ignored."""
    if channel not in ("sms", "whatsapp"):
        raise ValueError(f"unknown channel {channel!r}")
    sid = _message_sid(params, _MESSAGE_SID_FIELDS)
    sender = _address(_get(params, "From"))
    if not sender:
        raise BadRequest("missing From")
    # Quick-reply buttons arrive with an empty Body; the button is what the person said.
    text = params.get("Body", "") or _get(params, "ButtonText", "ButtonPayload")
    num_media = min(max(_int(_get(params, "NumMedia"), 0), 0), _MAX_MEDIA)
    media = []
    for n in range(num_media):
        url = _get(params, f"MediaUrl{n}")
        if url:
            media.append(Media(_get(params, f"MediaContentType{n}"), url))
    return InboundMessage(
        provider="twilio",
        channel=channel,
        provider_message_id=sid,
        sender=sender,
        text=clean_text(text),  # strict UTF-8 already keeps surrogates out; NUL is not
        media=tuple(media),
        profile_name=clean_text(_get(params, "ProfileName")) or None,
        received_at=now or datetime.now(UTC),
        recipient=_address(_get(params, "To")) or None,
        num_segments=max(_int(_get(params, "NumSegments"), 1), 1),
    )


def parse_status(params: Mapping[str, str]) -> DeliveryStatus:
    """Turn a status callback into a DeliveryStatus (Twilio sends no event time: at=None)."""
    sid = _message_sid(params, ("MessageSid", "SmsSid"))
    raw = _get(params, "MessageStatus", "SmsStatus")
    if not raw:
        raise BadRequest("missing MessageStatus")
    status = _STATUS_MAP.get(raw.lower())
    if status is None:
        raise BadRequest("unknown MessageStatus")
    return DeliveryStatus(
        provider="twilio",
        provider_message_id=sid,
        status=status,
        error_code=_get(params, "ErrorCode") or None,
        at=None,
    )


def twiml(reply: str | None) -> str:
    """TwiML answering with `reply` as one message, or with no message for None, built with
    the twilio package's own MessagingResponse (issue 12 asks for its builders, not string
    formatting; written by hand it saved about a twentieth of a webhook)."""
    response = MessagingResponse()
    if reply is not None:
        response.message(_XML_INVALID.sub("", reply))
    return str(response.to_xml())


def _whatsapp(address: str) -> str:
    return address if address.startswith("whatsapp:") else "whatsapp:" + address


def _error_result(response: httpx.Response) -> SendResult:
    code = ""
    try:
        data = response.json()
        if isinstance(data, dict) and data.get("code") is not None:
            code = str(data["code"])
    except ValueError:
        pass
    # Twilio's own `message` often quotes the phone number, so only the code is kept.
    error = _ERROR_TEXT.get(code) or (f"twilio_{code}" if code else f"http_{response.status_code}")
    retryable = response.status_code == 429 or response.status_code >= 500
    return SendResult(provider_message_id=None, accepted=False, retryable=retryable, error=error)


async def send(
    client: httpx.AsyncClient,
    *,
    api_base: str,
    account_sid: str,
    auth_token: str,
    sender: str,
    message: OutboundMessage,
) -> SendResult:
    """Send one message through Twilio's Messages API.

    Raises NotConfigured when a credential or the sender is empty; the caller keeps the
    message in the outbox unsent.
    """
    if not (account_sid and auth_token and sender):
        raise NotConfigured("Twilio credentials or sender are not set")
    to, from_ = message.to, sender
    if message.channel == "whatsapp":
        to, from_ = _whatsapp(to), _whatsapp(from_)
    form = {"To": to, "From": from_, "Body": message.body}
    if message.status_callback:
        form["StatusCallback"] = message.status_callback
    url = f"{api_base.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
    try:
        response = await client.post(url, data=form, auth=(account_sid, auth_token))
    except httpx.TransportError as exc:
        return transport_failure(exc)
    if response.status_code in (200, 201):
        try:
            data = response.json()
            sid = data.get("sid") if isinstance(data, dict) else None
        except ValueError:
            sid = None
        # Twilio created the message; retrying would send it twice, even without a sid.
        return SendResult(sid if isinstance(sid, str) else None, accepted=True, retryable=False)
    return _error_result(response)


async def find_sent(
    client: httpx.AsyncClient,
    *,
    api_base: str,
    account_sid: str,
    auth_token: str,
    message: OutboundMessage,
    since: datetime,
    exclude: frozenset[str] = frozenset(),
) -> str | None:
    """The SID of a message Twilio created to `message.to` with the same body since `since`
    (our claim of it), or None when Twilio has none: then it was never sent and may be sent
    again. Used for an outbox item whose sender died, or timed out, mid-request; Twilio's
    Messages API has no idempotency key, so looking is the only way to know."""
    to = _whatsapp(message.to) if message.channel == "whatsapp" else message.to
    url = f"{api_base.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
    try:
        response = await client.get(
            url, params={"To": to, "PageSize": "100"}, auth=(account_sid, auth_token)
        )
    except httpx.TransportError as exc:
        raise LookupFailed(type(exc).__name__) from None
    if response.status_code != 200:
        raise LookupFailed(f"http_{response.status_code}")
    try:
        found = response.json().get("messages")
    except (ValueError, AttributeError):
        raise LookupFailed("bad_answer") from None
    matches: list[tuple[datetime, str]] = []
    for entry in found if isinstance(found, list) else []:
        if not isinstance(entry, dict) or entry.get("body") != message.body:
            continue
        sid, created = entry.get("sid"), _rfc2822(entry.get("date_created"))
        # Twilio's dates have whole seconds: allow for the truncation.
        if isinstance(sid, str) and sid not in exclude and created and created >= since - _SLACK:
            matches.append((created, sid))
    return min(matches)[1] if matches else None


_SLACK = timedelta(seconds=2)


def _rfc2822(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parsedate_to_datetime(value).astimezone(UTC)
    except (TypeError, ValueError):
        return None


# media of inbound messages (MMS, WhatsApp) -------------------------------------------------

# MediaUrl{N}: https://api.twilio.com/2010-04-01/Accounts/AC.../Messages/MM.../Media/ME...
_MEDIA_PATH = re.compile(
    r"/Messages/([A-Za-z]{2}[0-9A-Fa-f]{32})/Media/([A-Za-z]{2}[0-9A-Fa-f]{32})"
)
MEDIA_KINDS = frozenset({"ME"})


def media_ref(url: str) -> str | None:
    """`MM.../ME...`: the message and media SIDs a MediaUrl names, None when it names none.
    Only the SIDs are kept: a URL from a request must not choose where our credentials
    are sent, so the URL fetched is built from the configured API base."""
    found = _MEDIA_PATH.search(url)
    if found is None:
        return None
    try:
        message = canonical_sid(found.group(1), MESSAGE_KINDS)
        media = canonical_sid(found.group(2), MEDIA_KINDS)
    except BadRequest:
        return None
    return f"{message}/{media}"


def _media_url(api_base: str, account_sid: str, ref: str, suffix: str = "") -> str:
    message, _, media = ref.partition("/")
    message, media = canonical_sid(message, MESSAGE_KINDS), canonical_sid(media, MEDIA_KINDS)
    base = f"{api_base.rstrip('/')}/2010-04-01/Accounts/{account_sid}"
    return f"{base}/Messages/{message}/Media/{media}{suffix}"


async def fetch_media(
    client: httpx.AsyncClient, *, api_base: str, account_sid: str, auth_token: str, ref: str
) -> Fetched:
    """The photo or voice note (Twilio answers with a redirect to its storage)."""
    if not (account_sid and auth_token):
        raise FetchFailed("no_credentials")
    url = _media_url(api_base, account_sid, ref)
    return await download(client, url, auth=(account_sid, auth_token))


async def delete_media(
    client: httpx.AsyncClient, *, api_base: str, account_sid: str, auth_token: str, ref: str
) -> None:
    """Delete it at Twilio; an already deleted one (404) counts as done."""
    if not (account_sid and auth_token):
        raise FetchFailed("no_credentials")
    url = _media_url(api_base, account_sid, ref, ".json")
    try:
        response = await client.delete(url, auth=(account_sid, auth_token))
    except httpx.TransportError as exc:
        raise FetchFailed(type(exc).__name__) from None
    if response.status_code not in (200, 204, 404):
        raise FetchFailed(f"http_{response.status_code}")


# the adapter ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TwilioAdapter:
    """Twilio Messaging (SMS, WhatsApp) and Voice, on one account. Its methods call this
    module's functions (the same names: `send`, `find_sent`, ...), and channels.voice's for
    recordings."""

    account_sid: str
    auth_token: str
    sms_from: str
    whatsapp_from: str
    api_base: str
    public_url: str = ""
    provider: str = "twilio"
    channels: frozenset[ChannelName] = frozenset(
        {ChannelName.sms, ChannelName.whatsapp, ChannelName.voice}
    )
    max_body: int = TWILIO_MAX_BODY

    def capabilities(self, channel: ChannelName) -> Capabilities:
        if channel == ChannelName.voice:
            # A caller is answered by SMS to the number they called from.
            return Capabilities(
                media=True,
                deletes_media=True,
                outbound_channel=ChannelName.sms,
                billed_per_segment=True,
            )
        window = WHATSAPP_WINDOW if channel == ChannelName.whatsapp else None
        return Capabilities(
            reply_window=window,
            provider_keywords=TWILIO_KEYWORDS if channel == ChannelName.sms else frozenset(),
            media=True,
            deletes_media=True,
            outbound_channel=channel,
            can_look_up=True,
            billed_per_segment=channel == ChannelName.sms,
        )

    def webhooks(self) -> tuple[Webhook, ...]:
        return (
            Webhook("POST", "/channels/twilio/sms", WebhookKind.inbound, ChannelName.sms,
                    "Twilio inbound SMS (answers TwiML)"),
            Webhook("POST", "/channels/twilio/whatsapp", WebhookKind.inbound,
                    ChannelName.whatsapp, "Twilio inbound WhatsApp (answers TwiML)"),
            Webhook("POST", TWILIO_STATUS_PATH, WebhookKind.status, None,
                    "Twilio delivery status callbacks"),
            Webhook("POST", "/channels/twilio/voice", WebhookKind.call, ChannelName.voice,
                    "Twilio Voice: an incoming call (answers TwiML)"),
        )  # fmt: skip

    def receives(self) -> bool:
        return bool(self.auth_token)

    def sends(self, channel: ChannelName) -> bool:
        sender = {ChannelName.sms: self.sms_from, ChannelName.whatsapp: self.whatsapp_from}
        return bool(self.account_sid and self.auth_token and sender.get(channel))

    def verify(self, request: WebhookRequest) -> None:
        verify_signature(
            auth_token=self.auth_token,
            public_url=self.public_url,
            path=request.path,
            query=request.query,
            params=parse_form(request.body),
            signature=request.headers.get("x-twilio-signature"),
        )

    def parse(self, request: WebhookRequest, channel: ChannelName | None) -> Parsed:
        params = parse_form(request.body)
        if channel is None:
            return Parsed(statuses=[parse_status(params)])
        if channel == ChannelName.voice:
            raise BadRequest("a call is not a message: app.voice handles it")
        return Parsed(messages=[parse_inbound(params, channel=channel.value)])

    def handshake(self, query: Mapping[str, str]) -> str:
        raise BadRequest("Twilio makes no subscription handshake")

    def reply(self, text: str | None) -> Reply:
        return Reply(twiml(text), "text/xml")

    def status_callback(self, public_url: str) -> str | None:
        return public_url + TWILIO_STATUS_PATH

    async def send(
        self,
        client: httpx.AsyncClient,
        message: OutboundMessage,
        *,
        template: tuple[str, str] | None = None,
    ) -> SendResult:
        sms = message.channel == ChannelName.sms
        return await send(
            client,
            api_base=self.api_base,
            account_sid=self.account_sid,
            auth_token=self.auth_token,
            sender=self.sms_from if sms else self.whatsapp_from,
            message=message,
        )

    async def find_sent(
        self,
        client: httpx.AsyncClient,
        message: OutboundMessage,
        *,
        since: datetime,
        exclude: frozenset[str],
    ) -> str | None:
        return await find_sent(
            client,
            api_base=self.api_base,
            account_sid=self.account_sid,
            auth_token=self.auth_token,
            message=message,
            since=since,
            exclude=exclude,
        )

    # media: recordings ("RE...") and the media of messages ("MM.../ME...")

    def media_ref(self, media: Media) -> str | None:
        return media_ref(media.url)

    def _account(self) -> dict[str, str]:
        if not (self.account_sid and self.auth_token):
            raise FetchFailed("no_credentials")
        return {
            "api_base": self.api_base,
            "account_sid": self.account_sid,
            "auth_token": self.auth_token,
        }

    async def fetch_media(self, client: httpx.AsyncClient, ref: str, *, limit: int) -> Fetched:
        from channels import voice  # imported here: channels.voice imports this module

        if "/" not in ref:
            return await voice.fetch_recording(client, recording_sid=ref, **self._account())
        return await fetch_media(client, ref=ref, **self._account())

    async def delete_media(self, client: httpx.AsyncClient, ref: str) -> None:
        from channels import voice  # imported here: channels.voice imports this module

        if "/" not in ref:
            await voice.delete_recording(client, recording_sid=ref, **self._account())
        else:
            await delete_media(client, ref=ref, **self._account())


# Where this provider comes in channels.registry's order (Meta's WhatsApp is preferred).
PREFERENCE = 20


def make_adapter(settings: Any, public_url: str) -> TwilioAdapter:
    """The adapter from the app's settings (absent ones read as unset)."""
    return TwilioAdapter(
        account_sid=getattr(settings, "twilio_account_sid", None) or "",
        auth_token=getattr(settings, "twilio_auth_token", None) or "",
        sms_from=getattr(settings, "twilio_sms_from", None) or "",
        whatsapp_from=getattr(settings, "twilio_whatsapp_from", None) or "",
        api_base=getattr(settings, "twilio_api_base", ""),
        public_url=public_url,
    )
