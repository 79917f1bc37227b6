"""What the mailing page's corrections box lists, so that the page includes it
with one line and its view needs no change."""

from django import template

from complaints.models import Mailing
from complaints.selectors_corrections import mailing_merge_candidates

register = template.Library()


@register.simple_tag
def correction_candidates(mailing: Mailing) -> list[Mailing]:
    """The subscriber's other mailings a correction may use, newest first."""
    return list(mailing_merge_candidates(mailing=mailing))
