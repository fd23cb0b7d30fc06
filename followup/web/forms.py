"""Form fields and filters the console's and the survey page's WTForms forms share."""

import wtforms
from markupsafe import Markup, escape
from wtforms import SelectMultipleField
from wtforms.widgets import CheckboxInput, ListWidget, RadioInput
from wtforms.widgets.core import clean_key

# Control characters other than line breaks and tabs: no column keeps NUL, none is meant.
_CONTROL = dict.fromkeys(c for c in range(32) if chr(c) not in "\n\r\t") | {0x7F: None}


def clean_text(value: str | None) -> str | None:
    """A form filter: control characters (NUL ...) dropped, spaces trimmed."""
    return value.translate(_CONTROL).strip() if isinstance(value, str) else value


def html_params(**kwargs) -> Markup:
    """wtforms.widgets.html_params, the same attributes in the same order, made without
    Markup.format (its string.Formatter was a sixth of the survey page's time): sorted by
    name, True as a bare name, False left out, names and values escaped."""
    params = []
    for key, value in sorted(kwargs.items()):
        if value is False:
            continue
        name = escape(clean_key(key))
        if value is True:
            params.append(str(name))
        else:
            params.append(f'{name}="{escape(value).replace(Markup(chr(34)), Markup("&quot;"))}"')
    return Markup(" ".join(params))


class FastRadioInput(RadioInput):
    html_params = staticmethod(html_params)


class FastCheckboxInput(CheckboxInput):
    html_params = staticmethod(html_params)


class RadioField(wtforms.RadioField):
    """wtforms' RadioField, its options rendered through the faster html_params (same name:
    templates tell fields apart by `field.type`)."""

    option_widget = FastRadioInput()


class MultiCheckboxField(SelectMultipleField):
    """A multiple choice rendered as a list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = FastCheckboxInput()
