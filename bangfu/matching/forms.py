"""Forms of the cross-department checks pages. They only parse what the browser sends (types, a
file); what is allowed — the kind of a file, the retention, the datasets a run may use, a reason
for dismissing — is decided by ``matching.services``, whose errors the views put back under the
fields they name."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from django import forms
from django.utils.translation import gettext_lazy as _

from bangfu.org.models import OrgUnit
from bangfu.web.forms import BLANK, AnyIntChoiceField, StyledForm, unit_choices_for

from .models import Dataset, FindingStatus, Kind, RuleChoice, SeverityChoice

ALL_STATUSES = "all"
UPLOAD_SUFFIXES = ".csv,.txt,.xlsx,.xlsm,.xls,.ods,.parquet,.pq"
FULL = "col-12"
HALF = "col-12 col-sm-6"


def _grid(form: forms.Form, **widths: str) -> None:
    for name, css in widths.items():
        setattr(form.fields[name], "grid", css)  # noqa: B010 - read by web/_field.html


class AnyIntMultipleChoiceField(forms.TypedMultipleChoiceField):
    """Integers offered from a list but not limited to it: the service decides which datasets the
    user may use, so a tampered id is refused there (with its message), not as "not a choice"."""

    def valid_value(self, value: Any) -> bool:
        return str(value).isascii() and str(value).isdigit() and len(str(value)) <= 18


class DatasetImportForm(StyledForm):
    kind = forms.ChoiceField(label=_("Kind of department data"), choices=BLANK + list(Kind.choices))
    file = forms.FileField(
        label=_("File (CSV in UTF-8 or GBK, Excel or Parquet)"),
        error_messages={"required": _("Choose a file.")},
        allow_empty_file=True,  # the import says why an empty file cannot be taken
        widget=forms.ClearableFileInput(attrs={"accept": UPLOAD_SUFFIXES}),
    )
    unit = AnyIntChoiceField(label=_("Union importing the data"), coerce=int, empty_value=None, required=False)
    as_of = forms.DateField(
        label=_("Data as of"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("The date the department extracted the data (default: today)."),
    )
    retention_days = forms.IntegerField(
        label=_("Keep for (days)"),
        required=False,
        help_text=_("The dataset and its rejected rows are deleted when this period ends."),
    )
    source = forms.CharField(
        label=_("Source"),
        max_length=100,
        required=False,
        help_text=_(
            "The department that sent the file, e.g. the provincial traffic police. The columns of this "
            "import are saved under this name and used again for its next file."
        ),
    )

    def __init__(self, *args: Any, units: Iterable[OrgUnit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = unit_choices_for(units)  # type: ignore[attr-defined]
        _grid(self, kind=HALF, unit=HALF, file=FULL, as_of=HALF, retention_days=HALF, source=FULL)


class ExchangeRequestForm(StyledForm):
    """The request file for an outside checking centre (``services.exchange_request_export``)."""

    unit = AnyIntChoiceField(label=_("Union whose persons are checked"), coerce=int, empty_value=None)
    format = forms.ChoiceField(
        label=_("File format"), choices=[("csv", _("CSV (UTF-8)")), ("parquet", _("Parquet"))], initial="csv"
    )
    plain = forms.BooleanField(
        label=_("Include ID numbers and names"),
        required=False,
        help_text=_(
            "Only where the checking centre cannot match keyed hashes. It needs the permission to reveal "
            "personal numbers, and is logged as a reveal."
        ),
    )

    def __init__(self, *args: Any, units: Iterable[OrgUnit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = unit_choices_for(units)  # type: ignore[attr-defined]


ENGINE_CHOICES = [("duckdb", _("DuckDB (on this server)")), ("spark", _("Spark (cluster)"))]


class RunStartForm(StyledForm):
    unit = AnyIntChoiceField(label=_("Union whose files are checked"), coerce=int, empty_value=None)
    dataset_ids = AnyIntMultipleChoiceField(
        label=_("Department data to check against"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    engine = forms.ChoiceField(label=_("Engine"), choices=ENGINE_CHOICES, initial="duckdb")

    def __init__(self, *args: Any, units: Iterable[OrgUnit], datasets: Iterable[Dataset], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = unit_choices_for(units)  # type: ignore[attr-defined]
        self.fields["dataset_ids"].choices = [  # type: ignore[attr-defined]
            (
                d.pk,
                _("%(kind)s · %(file)s · as of %(as_of)s · %(unit)s")
                % {"kind": d.get_kind_display(), "file": d.file_name, "as_of": d.as_of, "unit": d.unit.name},
            )
            for d in datasets
        ]
        _grid(self, unit=HALF, engine=HALF, dataset_ids=FULL)


class FindingFilterForm(StyledForm):
    unit = AnyIntChoiceField(label=_("Union"), coerce=int, empty_value=None, required=False)
    # Always sent by the form, "all" included: the page opens on the open findings whenever the
    # query has no status, whatever else it has (``views.finding_status``).
    status = forms.ChoiceField(
        label=_("Status"), choices=[*FindingStatus.choices, (ALL_STATUSES, _("All statuses"))], required=False
    )
    severity = forms.ChoiceField(label=_("Severity"), choices=BLANK + list(SeverityChoice.choices), required=False)
    kind = forms.ChoiceField(label=_("Department data"), choices=BLANK + list(Kind.choices), required=False)
    rule = forms.ChoiceField(label=_("Rule"), choices=BLANK + list(RuleChoice.choices), required=False)
    run = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args: Any, units: Iterable[OrgUnit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = [("", _("All unions")), *unit_choices_for(units)]  # type: ignore[attr-defined]

    def values(self) -> dict[str, Any]:
        """The filters to apply: an invalid value (an edited URL) is ignored, not an error page."""
        self.is_valid()
        return {k: v for k, v in getattr(self, "cleaned_data", {}).items() if k not in self.errors}


class ReasonForm(StyledForm):
    """The reason of a confirmation or a dismissal (the form's prefix): on one page, so each box
    is named by its decision, and the dismissal's hint is its box's, read with it."""

    LABELS: ClassVar[dict[str, Any]] = {"confirm": _("Reason for confirming"), "dismiss": _("Reason for dismissing")}
    HINTS: ClassVar[dict[str, Any]] = {
        "dismiss": _("Dismissing needs a reason, e.g. the vehicle was sold, or another person with a similar number.")
    }

    reason = forms.CharField(
        label=_("Reason"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["reason"]
        field.label = self.LABELS.get(self.prefix or "", field.label)
        field.help_text = self.HINTS.get(self.prefix or "", "")


class NoticeForm(StyledForm):
    note = forms.CharField(
        label=_("How and when the worker was told"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
