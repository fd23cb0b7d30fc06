"""Form fields and filters the console's and the survey page's WTForms forms share."""

from wtforms import SelectMultipleField
from wtforms.widgets import CheckboxInput, ListWidget

# Control characters other than line breaks and tabs: no column keeps NUL, none is meant.
_CONTROL = dict.fromkeys(c for c in range(32) if chr(c) not in "\n\r\t") | {0x7F: None}


def clean_text(value: str | None) -> str | None:
    """A form filter: control characters (NUL ...) dropped, spaces trimmed."""
    return value.translate(_CONTROL).strip() if isinstance(value, str) else value


class MultiCheckboxField(SelectMultipleField):
    """A multiple choice rendered as a list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()
