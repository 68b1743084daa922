"""The front page, the report pages with their CSV/XLSX exports, the site login, and the report API."""

from django.contrib.auth import views as auth_views
from django.urls import path
from django.views.generic import RedirectView

from attendance import report_api, reports

app_name = "reports"

urlpatterns = [
    path("", reports.home, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="reports/login.html", redirect_authenticated_user=True, next_page="reports:home"
        ),
        name="login",
    ),
    path("reports/", RedirectView.as_view(pattern_name="reports:today"), name="index"),
    path("logout/", auth_views.LogoutView.as_view(next_page="reports:home"), name="logout"),
    path("api/v1/reports/today/", report_api.TodayReportApi.as_view(), name="api-today"),
    path("api/v1/reports/day/", report_api.DayReportApi.as_view(), name="api-day"),
    path("api/v1/reports/timesheet/", report_api.TimesheetApi.as_view(), name="api-timesheet"),
    path("api/v1/reports/departments/", report_api.DepartmentSummaryApi.as_view(), name="api-departments"),
]

# Each report is a page and the same rows as CSV and XLSX, with the page's filters.
for name, view in [
    ("today", reports.today),
    ("day", reports.day),
    ("timesheet", reports.timesheet),
    ("departments", reports.departments),
]:
    urlpatterns += [
        path(f"reports/{name}/", view, name=name),
        path(f"reports/{name}.csv", view, {"fmt": "csv"}, name=f"{name}-csv"),
        path(f"reports/{name}.xlsx", view, {"fmt": "xlsx"}, name=f"{name}-xlsx"),
    ]
