"""Attendance reports: Today, day, timesheet and department summary as pages, downloads and JSON."""
