"""The one period input of every page (issue 16, item 3; ADR 0051): `PeriodField` renders
`<input type="month">` when the page takes months only, a text input taking 2021-01 / 2021-Q1 / 2021 when
its kinds allow more, and turns anything else into a form error naming the field. Year-only filters are
selects of the years with data (`zerowaste.core.periods.years_choices`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from zerowaste.core.periods import MAX_YEAR, MIN_YEAR
from zerowaste.declarations.rules import parse_period

# --- The one period input of every page -------------------------------------------------------------


class MonthInput(forms.TextInput):
    """`<input type="month">`: the browser's month picker; its value is YYYY-MM."""

    input_type = "month"


KIND_EXAMPLES = {"month": "2021-01", "quarter": "2021-Q1", "year": "2021"}


class PeriodField(forms.CharField):
    """A period typed by a person. `kinds` are the period kinds the page takes ("month", "quarter",
    "year"); the cleaned value is the canonical label (2021-01, 2021Q1, 2021). A value of another kind
    or no period at all is a form error on this field, naming it."""

    def __init__(self, *, kinds: Sequence[str] = ("month",), **kwargs: Any) -> None:
        self.kinds = tuple(kinds)
        examples = " / ".join(KIND_EXAMPLES[k] for k in self.kinds)
        if self.kinds == ("month",):
            widget: forms.Widget = MonthInput(attrs={"min": f"{MIN_YEAR}-01", "max": f"{MAX_YEAR}-12"})
        else:
            widget = forms.TextInput(attrs={"placeholder": examples, "size": 10})
        kwargs.setdefault("widget", widget)
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault("label", gettext_lazy("Period"))
        super().__init__(**kwargs)
        self.examples = examples

    def to_python(self, value: Any) -> str:
        text = super().to_python(value)
        if not text:
            return ""
        return parse_period_label(text, self.kinds, self.examples)


def parse_period_label(text: str, kinds: Sequence[str], examples: str = "") -> str:
    """The canonical label of a typed period of one of `kinds`, or a ValidationError saying what to write."""
    examples = examples or " / ".join(KIND_EXAMPLES[k] for k in kinds)
    try:
        period = parse_period(text)
    except ValueError as exc:
        raise forms.ValidationError(
            _("%(v)s is not a period: write %(e)s") % {"v": text[:40], "e": examples}, code="invalid"
        ) from exc
    if period.kind not in kinds:
        raise forms.ValidationError(
            _("%(v)s is not a period this page takes: write %(e)s") % {"v": text[:40], "e": examples},
            code="kind",
        )
    return period.label


def period_form(
    data: Any, *, kinds: Sequence[str] = ("month",), initial: str = "", required: bool = False
) -> forms.Form:
    """A form of one `period` field of `kinds` bound to `data` (a QueryDict) when it names a period."""
    form = forms.Form(data if data is not None and "period" in data else None, initial={"period": initial})
    form.fields["period"] = PeriodField(kinds=kinds, required=required)
    return form


def field_errors(form: forms.Form) -> list[dict[str, str]]:
    """A form's errors as the project's {"field", "message"} entries (the `_errors.html` shape), each
    naming its field by the label the page shows."""
    return [
        {"field": str(form.fields[name].label or name) if name in form.fields else name, "message": str(m)}
        for name, msgs in form.errors.items()
        for m in msgs
    ]
