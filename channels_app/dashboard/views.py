"""``/admin/dashboard/``: delivery per channel and traffic account over the last hour or day.

Staff only (wrapped in ``admin.site.admin_view`` in gateway/urls.py). The numbers come from the
same selection as ``GET /statistics`` (``services.statistics_timeline``), across all customers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone

from accounts_app.models import TrafficAccount
from channels_app.dashboard.charts import COLORS, Chart, line_chart
from channels_app.services.statistics_timeline import DeliverySeries, delivery_timeline
from gateway.channels import CHANNEL_CHOICES

# range -> (span, bucket): per minute over the hour, per quarter hour over the day.
RANGES = {
    "hour": (timedelta(hours=1), timedelta(minutes=1)),
    "day": (timedelta(days=1), timedelta(minutes=15)),
}


class DashboardFilters(forms.Form):
    range = forms.ChoiceField(choices=[("hour", "Last hour"), ("day", "Last day")], required=False)
    channel = forms.ChoiceField(choices=[("", "All channels"), *CHANNEL_CHOICES], required=False)
    traffic_account = forms.ModelChoiceField(
        queryset=TrafficAccount.objects.select_related("customer").order_by("customer__email", "name"),
        required=False,
        empty_label="All traffic accounts",
    )


@dataclass(frozen=True)
class Panel:
    """One chart with its summary figures."""

    title: str
    subtitle: str
    series: DeliverySeries
    chart: Chart


def window_end(now: datetime, bucket: timedelta) -> datetime:
    """The end of the bucket ``now`` falls in, so buckets start on whole minutes / quarters."""
    epoch = datetime(2000, 1, 1, tzinfo=now.tzinfo)
    return epoch + math.ceil((now - epoch) / bucket) * bucket


def delivery_dashboard(request: HttpRequest) -> TemplateResponse:
    filters = DashboardFilters(request.GET or None)
    valid = filters.is_valid() if request.GET else True
    cleaned = filters.cleaned_data if request.GET and valid else {}
    range_name = cleaned.get("range") or "hour"
    span, bucket = RANGES[range_name]
    end = window_end(timezone.now(), bucket)
    account = cleaned.get("traffic_account")
    timeline = delivery_timeline(
        created_from=end - span,
        created_to=end,
        bucket=bucket,
        traffic_account_id=account.id if account else None,
        channel=cleaned.get("channel") or None,
    )
    per_account = timeline.per_account()
    accounts = TrafficAccount.objects.select_related("customer").in_bulk(
        [series.key.traffic_account_id for series in per_account]
    )
    channel_names = dict(CHANNEL_CHOICES)

    def panel(title: str, subtitle: str, series: DeliverySeries) -> Panel:
        return Panel(title, subtitle, series, line_chart(series, timeline.buckets, bucket))

    overall = panel("All traffic", "every channel and account in the filter", timeline.overall)
    channels = [
        panel(channel_names.get(s.key.channel or "", s.key.channel or ""), "channel", s) for s in timeline.per_channel()
    ]
    account_panels = []
    for series in per_account:
        found = accounts.get(series.key.traffic_account_id)
        title = found.name if found else str(series.key.traffic_account_id)
        owner = found.customer.email if found else ""
        subtitle = f"{channel_names.get(series.key.channel or '', series.key.channel)} · {owner}"
        account_panels.append(panel(title, subtitle, series))
    context = {
        **admin.site.each_context(request),
        "title": "Delivery dashboard",
        "filters": filters,
        "range_name": range_name,
        "bucket_label": "per minute" if bucket == timedelta(minutes=1) else "per 15 minutes",
        "timeline": timeline,
        "overall": overall,
        "channel_panels": channels,
        "account_panels": account_panels,
        "legend": list(COLORS.items()),
    }
    return TemplateResponse(request, "admin/delivery_dashboard.html", context, status=200 if valid else 400)
