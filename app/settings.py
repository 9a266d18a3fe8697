"""One typed settings object, read from the environment and an optional `.env` file."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "changethis", "secret", "test", "xxx", "todo"}


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def ip_networks(text: str, variable: str = "GRIEVANCE_TRUSTED_PROXIES") -> tuple[IPNetwork, ...]:
    """Comma-separated addresses or CIDR networks (GRIEVANCE_TRUSTED_PROXIES and
    GRIEVANCE_METRICS_ALLOW)."""
    networks: list[IPNetwork] = []
    for item in text.split(","):
        if item.strip():
            try:
                networks.append(ipaddress.ip_network(item.strip(), strict=False))
            except ValueError:
                raise ValueError(
                    f"{variable}: {item.strip()!r} is not an IP address or network"
                ) from None
    return tuple(networks)


proxy_networks = ip_networks


class ConfigError(RuntimeError):
    """The configuration cannot be used; the message says why in the operator's terms."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    env: Literal["development", "production", "test"] = Field(
        "development", validation_alias="GRIEVANCE_ENV"
    )
    data_dir: Path = Field(Path("./grievance-data"), validation_alias="GRIEVANCE_DATA_DIR")
    database_url: str | None = Field(None, validation_alias="GRIEVANCE_DATABASE_URL")
    master_key_file: Path | None = Field(None, validation_alias="GRIEVANCE_MASTER_KEY_FILE")
    public_url: str = Field("http://127.0.0.1:8000", validation_alias="GRIEVANCE_PUBLIC_URL")
    log_level: str = Field("INFO", validation_alias="GRIEVANCE_LOG_LEVEL")

    twilio_account_sid: str | None = Field(None, validation_alias="TWILIO_ACCOUNT_SID")
    twilio_auth_token: str | None = Field(None, validation_alias="TWILIO_AUTH_TOKEN")
    twilio_sms_from: str | None = Field(None, validation_alias="TWILIO_SMS_FROM")
    twilio_whatsapp_from: str | None = Field(None, validation_alias="TWILIO_WHATSAPP_FROM")
    # The voice line's number. With the missed-call callback on, a call to it is rejected
    # (the caller pays nothing) and the caller is called back from it within a minute.
    twilio_voice_from: str | None = Field(None, validation_alias="TWILIO_VOICE_FROM")
    voice_callback: bool = Field(False, validation_alias="GRIEVANCE_VOICE_CALLBACK")
    twilio_api_base: str = Field(
        "https://api.twilio.com", validation_alias="GRIEVANCE_TWILIO_API_BASE"
    )

    meta_app_secret: str | None = Field(None, validation_alias="META_APP_SECRET")
    meta_verify_token: str | None = Field(None, validation_alias="META_VERIFY_TOKEN")
    meta_access_token: str | None = Field(None, validation_alias="META_ACCESS_TOKEN")
    meta_phone_number_id: str | None = Field(None, validation_alias="META_PHONE_NUMBER_ID")
    meta_api_base: str = Field(
        "https://graph.facebook.com/v21.0", validation_alias="GRIEVANCE_META_API_BASE"
    )
    # Vonage Messages API, SMS: the API key and secret send (HTTP Basic auth); the signature
    # secret verifies the webhooks' signed JWT. The sender is a number (E.164, with or
    # without "+") or an alphanumeric sender id where the country allows one.
    vonage_api_key: str | None = Field(None, validation_alias="VONAGE_API_KEY")
    vonage_api_secret: str | None = Field(None, validation_alias="VONAGE_API_SECRET")
    vonage_signature_secret: str | None = Field(None, validation_alias="VONAGE_SIGNATURE_SECRET")
    vonage_sms_from: str | None = Field(None, validation_alias="VONAGE_SMS_FROM")
    vonage_api_base: str = Field(
        "https://api.nexmo.com", validation_alias="GRIEVANCE_VONAGE_API_BASE"
    )
    # "name:language" of an approved Cloud API template that reopens the 24-hour window.
    whatsapp_template: str | None = Field(None, validation_alias="GRIEVANCE_WHATSAPP_TEMPLATE")
    # Days after closure until a case's content is crypto-shredded, for every partner at
    # once; unset, each partner's own period applies (default 1095). 0 means at once.
    retention_days: int | None = Field(None, ge=0, validation_alias="GRIEVANCE_RETENTION_DAYS")
    outbox_max_attempts: int = Field(
        8, ge=1, le=50, validation_alias="GRIEVANCE_OUTBOX_MAX_ATTEMPTS"
    )
    # Reverse proxies whose X-Forwarded-For / Forwarded headers name the real client;
    # anyone else could write those headers to dodge or turn the rate limits.
    trusted_proxies: str = Field("", validation_alias="GRIEVANCE_TRUSTED_PROXIES")
    # How long a sender's claim on an outbox item lasts; each send is cut off at half of it.
    # An item still `sending` after it is reconciled (looked up at the provider) before
    # any resend.
    outbox_lease_seconds: float = Field(
        300.0, ge=2.0, le=3600.0, validation_alias="GRIEVANCE_OUTBOX_LEASE_SECONDS"
    )

    # Who may read /metrics without an admin's token (a Prometheus server): addresses or
    # CIDR networks, matched against the client as GRIEVANCE_TRUSTED_PROXIES resolves it.
    metrics_allow: str = Field("", validation_alias="GRIEVANCE_METRICS_ALLOW")

    # Smallest count shown in any aggregate (buyers, public); smaller ones are withheld.
    min_cell: int = Field(5, ge=1, le=1000, validation_alias="GRIEVANCE_MIN_CELL")
    # smtp://user:pass@host:port or smtps://...; unset: staff alerts stay in the console inbox.
    smtp_url: str | None = Field(None, validation_alias="GRIEVANCE_SMTP_URL")

    # Who runs the service, named on the reporter's home page with the privacy notice; a
    # link to the full privacy policy when there is one.
    operator_name: str | None = Field(
        None, max_length=120, validation_alias="GRIEVANCE_OPERATOR_NAME"
    )
    privacy_url: str | None = Field(None, validation_alias="GRIEVANCE_PRIVACY_URL")
    # The WhatsApp number shown to reporters when the Cloud API is used (its phone number id
    # is not a number people can write to); with Twilio it is TWILIO_WHATSAPP_FROM.
    whatsapp_number: str | None = Field(None, validation_alias="GRIEVANCE_WHATSAPP_NUMBER")

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        if self.database_url is None:
            self.database_url = f"sqlite:///{self.data_dir / 'grievance.db'}"
        if self.master_key_file is None:
            self.master_key_file = self.data_dir / "master.key"
        self.public_url = self.public_url.rstrip("/")
        proxy_networks(self.trusted_proxies)  # refuse a typo at start, not per request
        ip_networks(self.metrics_allow, "GRIEVANCE_METRICS_ALLOW")
        if self.smtp_url and not self.smtp_url.startswith(("smtp://", "smtps://")):
            raise ValueError("GRIEVANCE_SMTP_URL must start with smtp:// or smtps://")
        if self.privacy_url and not self.privacy_url.startswith(("https://", "http://")):
            raise ValueError("GRIEVANCE_PRIVACY_URL must be an https:// (or http://) URL")
        return self

    @property
    def sms_number(self) -> str | None:
        """The number shown to reporters: Twilio's, else Vonage's when it is a number."""
        if self.twilio_sms_from:
            return self.twilio_sms_from
        digits = (self.vonage_sms_from or "").strip().removeprefix("+")
        return "+" + digits if digits.isascii() and digits.isdigit() else None

    @property
    def whatsapp_public_number(self) -> str | None:
        if self.whatsapp_number:
            return self.whatsapp_number
        if self.twilio_whatsapp_from:
            return self.twilio_whatsapp_from.removeprefix("whatsapp:")
        return None

    @property
    def proxies(self) -> tuple[IPNetwork, ...]:
        return proxy_networks(self.trusted_proxies)

    @property
    def metrics_networks(self) -> tuple[IPNetwork, ...]:
        return ip_networks(self.metrics_allow, "GRIEVANCE_METRICS_ALLOW")

    @property
    def db_url(self) -> str:
        assert self.database_url is not None
        return self.database_url

    @property
    def key_file(self) -> Path:
        assert self.master_key_file is not None
        return self.master_key_file

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def secure_cookies(self) -> bool:
        return self.env != "development" and self.env != "test"

    def check_production(self, *, key_was_generated: bool) -> None:
        """Refuse to run in production on defaults that are only safe on a laptop."""
        if not self.is_production:
            return
        problems: list[str] = []
        if key_was_generated:
            problems.append(
                "the master key file was generated on this start; provision "
                "GRIEVANCE_MASTER_KEY_FILE and keep a backup"
            )
        if not self.public_url.startswith("https://"):
            problems.append("GRIEVANCE_PUBLIC_URL must be an https:// URL")
        for name in (
            "twilio_auth_token",
            "meta_app_secret",
            "meta_verify_token",
            "meta_access_token",
            "vonage_api_secret",
            "vonage_signature_secret",
        ):
            value = getattr(self, name)
            if value is not None and value.strip().lower() in PLACEHOLDER_SECRETS:
                problems.append(f"{name.upper()} is a placeholder")
        if problems:
            raise ConfigError("refusing to start in production: " + "; ".join(problems))


@lru_cache
def get_settings() -> Settings:
    return Settings()
