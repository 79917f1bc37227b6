"""Filters for the complaint queue (django-filter). Declarative; custom filters only
build queries."""

import django_filters
from django import forms
from django.db.models import Q

from complaints.models import Complaint


class ComplaintFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(
        choices=Complaint.State.choices, empty_label="any"
    )
    channel = django_filters.ChoiceFilter(
        choices=Complaint.Channel.choices, empty_label="any"
    )
    feedback_type = django_filters.CharFilter(
        label="Feedback type", lookup_expr="exact"
    )
    received_after = django_filters.DateFilter(
        field_name="received_at",
        lookup_expr="date__gte",
        label="From",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    received_before = django_filters.DateFilter(
        field_name="received_at",
        lookup_expr="date__lte",
        label="To",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    subscriber = django_filters.CharFilter(
        field_name="subscriber__account_number", label="Account number"
    )
    linked = django_filters.BooleanFilter(
        field_name="mailing",
        lookup_expr="isnull",
        exclude=True,
        label="Linked to a mailing",
    )
    text = django_filters.CharFilter(
        method="filter_text", label="Subject or sender contains"
    )
    order = django_filters.OrderingFilter(
        fields=(
            ("received_at", "received"),
            ("reference", "reference"),
            ("channel", "channel"),
            ("state", "state"),
            ("subject_key", "subject"),
            ("subscriber_id", "subscriber"),
        ),
        label="Sort by",
    )

    class Meta:
        model = Complaint
        fields: list[str] = []

    def filter_text(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(subject__icontains=value)
            | Q(header_from__icontains=value)
            | Q(mail_from__icontains=value)
        )
