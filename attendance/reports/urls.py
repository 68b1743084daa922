"""The front page, the site login, and every report's page, CSV and XLSX downloads and JSON API."""

from django.contrib.auth import views as auth_views
from django.urls import path
from django.views.generic import RedirectView

from attendance.reports import api, corrections, views
from attendance.reports.specs import REPORTS

app_name = "reports"

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="reports/login.html", redirect_authenticated_user=True, next_page="reports:home"
        ),
        name="login",
    ),
    path("reports/", RedirectView.as_view(pattern_name="reports:today"), name="index"),
    path("logout/", auth_views.LogoutView.as_view(next_page="reports:home"), name="logout"),
    path("me/timesheet/", views.my_timesheet, name="my-timesheet"),
    path("me/requests/", views.my_request_create, name="my-request-create"),
    path(
        "me/requests/wrong-time/",
        views.my_request_create,
        {"kind": "wrong-time"},
        name="my-wrong-time-create",
    ),
    path("me/requests/leave/", views.my_request_create, {"kind": "leave"}, name="my-leave-create"),
    path("reports/requests/", views.correction_requests, name="requests"),
    path("reports/requests/<int:pk>/decide/", views.correction_request_decision, name="request-decide"),
    path("reports/people/<int:pk>/events/", corrections.person_events, name="person-events"),
    path("reports/pay-periods/", corrections.pay_periods, name="pay-periods"),
    path("reports/pay-periods/<int:pk>/", corrections.pay_period_action, name="pay-period-action"),
]

# Each report is a page, the same rows as CSV and XLSX with the page's filters, and a JSON API.
for name, spec in REPORTS.items():
    urlpatterns += [
        path(f"reports/{name}/", views.report_view, {"spec": spec}, name=name),
        path(f"reports/{name}.csv", views.report_view, {"spec": spec, "fmt": "csv"}, name=f"{name}-csv"),
        path(f"reports/{name}.xlsx", views.report_view, {"spec": spec, "fmt": "xlsx"}, name=f"{name}-xlsx"),
        path(f"api/v1/reports/{name}/", api.report_api(spec).as_view(), name=f"api-{name}"),
    ]
