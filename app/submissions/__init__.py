"""Grievances filed through the web form, offline devices and field intake."""
