"""Grievance categories and channels, apart from the tables so the command line can list
them without loading the database layer (`grievance --help` imports nothing heavy)."""

from __future__ import annotations

from enum import StrEnum


class Category(StrEnum):
    wages = "wages"
    working_hours = "working_hours"
    health_safety = "health_safety"
    harassment_violence = "harassment_violence"
    discrimination = "discrimination"
    forced_labour = "forced_labour"
    child_labour = "child_labour"
    freedom_of_association = "freedom_of_association"
    environment = "environment"
    other = "other"


class Channel(StrEnum):
    sms = "sms"
    whatsapp = "whatsapp"
    web = "web"
    field = "field"
    voice = "voice"
