"""Template tags for the home page: `{% load home %}{% home_panels user as home %}`."""

from django import template

from attendance_site import home as selectors

register = template.Library()


@register.simple_tag
def home_panels(user) -> dict:
    """Return the panels this user's home page shows: steps, todos and status, each only for its role."""
    panels: dict = {}
    if not getattr(user, "is_authenticated", False):
        return panels
    if user.is_superuser:
        steps = selectors.first_run_steps()
        panels["steps"] = steps
        panels["steps_left"] = sum(not step.done for step in steps)
        panels["status"] = selectors.system_status()
    if user.has_perm("people.view_person"):
        panels["todos"] = selectors.hr_todos()
    return panels
