"""Pagination for tables that grow without bound.

Counting a million complaints costs more than showing fifty of them, and nobody
pages past a few thousand rows: they refine the filters. ``CappedPaginator``
counts at most ``cap`` rows (one indexed LIMIT query) and says "more than" beyond.
"""

from django.core.paginator import Paginator
from django.utils.functional import cached_property


class CappedPaginator(Paginator):
    def __init__(self, object_list, per_page, *, cap: int = 10_000, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.cap = cap

    @cached_property
    def count(self) -> int:
        # COUNT(*) over a LIMIT subquery of bare ids: no joins, no sort, and the
        # scan stops after cap + 1 rows.
        return self.object_list.order_by().values("pk")[: self.cap + 1].count()

    @property
    def is_capped(self) -> bool:
        return self.count > self.cap

    @property
    def count_label(self) -> str:
        return f"more than {self.cap:,}" if self.is_capped else f"{self.count:,}"
