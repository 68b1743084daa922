"""Admin forms for enrolment: a person with consent and several photos at once, and a bulk zip."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html

from people.models import Holiday, Leave, Person
from people.selectors import consent_text_current
from people.services import face_upload_read, zip_read


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleImageField(forms.FileField):
    """Several files in one field; each is checked as a face photo (size, type, decodes fully)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        if not files:
            if self.required:
                raise ValidationError(self.error_messages["required"], code="required")
            return []
        errors, checked = [], []
        for upload in files:
            upload = super().clean(upload, initial)
            try:
                checked.append((upload, face_upload_read(upload)))
            except ValidationError as exc:
                errors.extend(exc.messages)
        if errors:
            raise ValidationError(errors)
        return checked


class PersonAdminForm(forms.ModelForm):
    consent = forms.BooleanField(required=False, label="Consent recorded")
    # The version shown when the form was opened: consent is recorded against what HR showed.
    shown_consent_version = forms.CharField(required=False, widget=forms.HiddenInput)
    photos = MultipleImageField(
        required=False,
        label="Add face photos",
        help_text="Choose several photos at once: one face each, facing the camera, well lit. "
        "They are checked in the background; results appear below.",
    )

    class Meta:
        model = Person
        fields = [
            "employee_id",
            "full_name",
            "email",
            "department",
            "is_active",
            "shift_start",
            "shift_end",
            "employment_start",
            "employment_end",
            "holiday_calendar",
            "user",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        current = consent_text_current()
        self.consent_text = current
        if current is not None:
            self.fields["shown_consent_version"].initial = current.version
            self.fields["consent"].help_text = format_html(
                "Tick when the person has read and agreed to the consent text version <strong>{}</strong> "
                '(shown below; <a href="{}" target="_blank" rel="noopener">open it to print</a>). '
                "Photos can only be added once consent is recorded.",
                current.version,
                reverse("admin:people_consenttext_print", args=[current.pk]),
            )
        else:
            self.fields[
                "consent"
            ].help_text = (
                "No consent text exists yet: add one under People and enrolment → Consent texts first."
            )
        if self.instance.pk and self.instance.consent_given_at:
            self.fields["consent"].initial = True
            self.fields["consent"].disabled = True
            self.fields["consent"].help_text = (
                f"Recorded {self.instance.consent_given_at:%Y-%m-%d %H:%M} by "
                f"{self.instance.consent_recorded_by or 'unknown'}, "
                f"text version {self.instance.consent_text_version}."
            )

    def full_clean(self):
        """Validate; when the form is refused, say that the chosen photos must be chosen again."""
        super().full_clean()
        chosen = len(self.files.getlist("photos")) if self.is_bound and self.files else 0
        if chosen and self._errors:
            # A browser never keeps chosen files across a page load, so they would be lost silently.
            note = (
                f"Nothing was saved, so the {chosen} photo(s) you chose were not kept: "
                "fix what is marked, then choose them again."
            )
            self._errors.setdefault("photos", self.error_class()).append(note)
            self.cleaned_data.pop("photos", None)

    @property
    def consent_newly_given(self) -> bool:
        return bool(self.cleaned_data.get("consent")) and not self.instance.consent_given_at

    def clean(self):
        cleaned = super().clean()
        if self.consent_newly_given:
            # A post without the hidden field (a script) means the current text.
            shown = cleaned.get("shown_consent_version") or ""
            if self.consent_text is None:
                self.add_error("consent", "Add a consent text first (People and enrolment → Consent texts).")
            elif shown and shown != self.consent_text.version:
                self.add_error(
                    "consent",
                    f"The consent text changed to version {self.consent_text.version} while this page was "
                    "open: show the person the new text (below), then tick again.",
                )
            else:
                cleaned["shown_consent_version"] = self.consent_text.version
        has_consent = self.instance.consent_given_at is not None or cleaned.get("consent")
        if cleaned.get("photos") and not has_consent:
            self.add_error("consent", "Record the person's consent before adding face photos.")
        return cleaned


class ZipEnrolForm(forms.Form):
    ALL_OR_NOTHING = "all"
    KEEP_GOOD = "keep"

    archive = forms.FileField(
        label="Zip of photos",
        help_text="One folder per person, named with their employee id, holding their photos; "
        "optionally people.csv at the top (see above).",
        widget=forms.ClearableFileInput(attrs={"accept": ".zip,application/zip"}),
    )
    mode = forms.ChoiceField(
        label="If a photo has no usable face",
        choices=[
            (
                ALL_OR_NOTHING,
                "Refuse the whole zip: the worker checks every photo first, and nothing is saved "
                "unless all of them show a usable face",
            ),
            (
                KEEP_GOOD,
                "Keep the good photos: everything is saved now, and each photo without a usable face "
                "is rejected on its own, with the reason on the person's page",
            ),
        ],
        initial=ALL_OR_NOTHING,
        widget=forms.RadioSelect,
    )
    create_missing = forms.BooleanField(
        required=False,
        label="Create people for unknown folders",
        help_text="The folder name becomes the employee id; the name, department and e-mail come from "
        "people.csv, or the name from the folder when people.csv has no row for them (edit it later).",
    )
    create_departments = forms.BooleanField(
        required=False,
        label="Create missing departments",
        help_text="A department named in people.csv that does not exist yet is created; "
        "unticked, such a row is refused.",
    )
    consent_confirmed = forms.BooleanField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        current = consent_text_current()
        version = current.version if current else settings.CONSENT_TEXT_VERSION
        self.fields[
            "consent_confirmed"
        ].label = (
            f"I confirm the people created from this zip have agreed to the consent text (version {version})"
        )

    def full_clean(self):
        """Validate; when the form is refused, say that the zip must be chosen again."""
        super().full_clean()
        if self._errors and self.is_bound and self.files and self.files.get("archive"):
            # A browser never keeps a chosen file across a page load: say so instead of losing it silently.
            name = getattr(self.files["archive"], "name", "the zip")
            self._errors.setdefault("archive", self.error_class()).append(
                f"Nothing was saved, so {name} was not kept: fix what is marked, then choose it again."
            )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("create_missing") and not cleaned.get("consent_confirmed"):
            self.add_error("consent_confirmed", "Confirm consent to create people from the zip.")
        archive = cleaned.get("archive")
        if archive is not None and not self.errors:
            cleaned["contents"] = zip_read(
                archive,
                create_missing=bool(cleaned.get("create_missing")),
                create_departments=bool(cleaned.get("create_departments")),
            )
        return cleaned


def locked_pay_period_between(start, end):
    """Return a locked pay period (attendance.PayPeriod) touching start..end, or None.

    Looked up by name: people does not import attendance.
    """
    from django.apps import apps

    PayPeriod = apps.get_model("attendance", "PayPeriod")
    return PayPeriod.objects.filter(status="locked", start__lte=end, end__gte=start).first()


class LeaveAdminForm(forms.ModelForm):
    """HR's leave: refused on days of a locked pay period (before or after the change)."""

    class Meta:
        model = Leave
        fields = ["person", "kind", "start_date", "end_date", "half_day", "note"]

    def clean(self):
        data = super().clean()
        ranges = [(self.instance.start_date, self.instance.end_date)] if self.instance.pk else []
        if data.get("start_date") and data.get("end_date"):
            ranges.append((data["start_date"], data["end_date"]))
        for start, end in ranges:
            period = locked_pay_period_between(start, end)
            if period is not None:
                raise forms.ValidationError(
                    f"This leave touches the {period}, which is approved and locked: reopen it (Pay "
                    "periods, on the site, with a reason) before changing leave in it."
                )
        return data


class HolidayAdminForm(forms.ModelForm):
    """A holiday changes who was absent: refused on a day of a locked pay period (before or after)."""

    class Meta:
        model = Holiday
        fields = ["calendar", "date", "name"]

    def clean(self):
        data = super().clean()
        days = [self.instance.date] if self.instance.pk else []
        if data.get("date"):
            days.append(data["date"])
        for day in days:
            period = locked_pay_period_between(day, day)
            if period is not None:
                raise forms.ValidationError(
                    f"{day} is in the {period}, which is approved and locked: reopen it (Pay periods, on "
                    "the site, with a reason) before changing its holidays."
                )
        return data


class HolidayInlineFormSet(forms.BaseInlineFormSet):
    """A calendar's holidays: deleting one on a day of a locked pay period is refused too."""

    def clean(self):
        super().clean()
        for form in self.deleted_forms:
            day = form.instance.date if form.instance.pk else None
            period = locked_pay_period_between(day, day) if day else None
            if period is not None:
                raise forms.ValidationError(
                    f"{day} is in the {period}, which is approved and locked: reopen it before deleting "
                    "its holiday."
                )
