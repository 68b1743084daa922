"""{{ duration|hm }}: hours as h:mm on pages (7:17), while downloads and the API keep decimals (7.28)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import template

from attendance.reports.rules import hours_minutes

register = template.Library()


@register.filter
def hm(value) -> str:
    """Return a timedelta or decimal hours as h:mm ("" for None): timedelta(minutes=437) -> "7:17"."""
    if value is None or value == "":
        return ""
    if isinstance(value, dt.timedelta):
        return hours_minutes(value)
    minutes = (Decimal(value) * 60).quantize(Decimal(1))
    return hours_minutes(dt.timedelta(minutes=int(minutes)))
