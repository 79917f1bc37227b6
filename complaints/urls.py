from django.urls import path

from complaints.views import (
    corrections,
    inbound,
    ingest_http,
    mail_templates,
    mailings,
    public,
    staff,
)

app_name = "complaints"
urlpatterns = [
    path("ingest/", ingest_http.ingest_http, name="ingest_http"),
    path("dashboard/", staff.dashboard, name="dashboard"),
    path("complaints/", staff.complaint_list, name="complaint_list"),
    path("complaints/<int:pk>/", staff.complaint_detail, name="complaint_detail"),
    path("complaints/bulk/", staff.complaint_bulk, name="complaint_bulk"),
    path("complaints/<int:pk>/raw/", staff.complaint_raw, name="complaint_raw"),
    path("complaints/<int:pk>/link/", staff.complaint_link, name="complaint_link"),
    path(
        "complaints/<int:pk>/<str:action>/",
        staff.complaint_triage,
        name="complaint_triage",
    ),
    path("mailings/", mailings.mailing_list, name="mailing_list"),
    path("mailings/<int:pk>/", staff.mailing_detail, name="mailing_detail"),
    # Before the decisions: "merge", "move" and "split" are not decisions.
    path("mailings/<int:pk>/merge/", corrections.mailing_merge, name="mailing_merge"),
    path("mailings/<int:pk>/move/", corrections.reports_move, name="reports_move"),
    path("mailings/<int:pk>/split/", corrections.mailing_split, name="mailing_split"),
    path(
        "mailings/<int:pk>/<str:decision>/", staff.mailing_decide, name="mailing_decide"
    ),
    path("strikes/<int:pk>/revoke/", staff.strike_revoke, name="strike_revoke"),
    path("inbound/failed/", inbound.inbound_list, name="inbound_failed_list"),
    path("inbound/<int:pk>/", inbound.inbound_detail, name="inbound_detail"),
    path(
        "inbound/<int:pk>/reprocess/",
        inbound.inbound_reprocess,
        name="inbound_reprocess",
    ),
    path("inbound/<int:pk>/discard/", inbound.inbound_discard, name="inbound_discard"),
    # After the numbered paths: a state name is any string, digits included.
    path("inbound/<str:state>/", inbound.inbound_list, name="inbound_list"),
    path("mail/", mail_templates.mail_template_list, name="mail_template_list"),
    path(
        "mail/<str:name>/",
        mail_templates.mail_template_edit,
        name="mail_template_edit",
    ),
    path("report/", public.report_form, name="report_form"),
    path("report/done/", public.report_done, name="report_done"),
    path("report/status/", public.report_status, name="report_status"),
]
