"""Form fields and filters the console's and the survey page's WTForms forms share."""

import wtforms
from markupsafe import Markup, escape
from wtforms import SelectMultipleField
from wtforms.fields.choices import SelectChoice
from wtforms.fields.core import Label
from wtforms.widgets import CheckboxInput, ListWidget, RadioInput, TextArea
from wtforms.widgets.core import clean_key

# The filter every text field uses (control characters dropped, spaces trimmed) lives below
# the web, in followup.text, so the domain cleans with the same one; re-exported here.
from followup.text import clean_text as clean_text

_QUOTE, _QUOTE_ENTITY = Markup(chr(34)), Markup("&quot;")
# Attribute names as written (id, name, aria_describedby ...): escaped once each.
_NAMES: dict[str, str] = {}


def _attribute_name(key: str) -> str:
    name = _NAMES.get(key)
    if name is None:
        name = _NAMES[key] = str(escape(clean_key(key)))
    return name


def html_params(**kwargs) -> Markup:
    """wtforms.widgets.html_params, the same attributes in the same order, made without
    Markup.format (its string.Formatter was a sixth of the survey page's time): sorted by
    name, True as a bare name, False left out, names and values escaped."""
    params = []
    for key, value in sorted(kwargs.items()):
        if value is False:
            continue
        name = _attribute_name(key)
        if value is True:
            params.append(name)
        elif type(value) is str:  # escaped, a plain string's " is &#34;: none left to replace
            params.append(f'{name}="{escape(value)}"')
        elif type(value) is int:  # digits and a sign: nothing to escape
            params.append(f'{name}="{value}"')
        else:
            params.append(f'{name}="{escape(value).replace(_QUOTE, _QUOTE_ENTITY)}"')
    return Markup(" ".join(params))


def _flag_attributes(widget, field, kwargs: dict, call: bool = True) -> None:
    """The attributes of the field's flags the widget shows (required, maxlength ...), as
    WTForms' widgets add them (an input calls a callable flag, a textarea does not), without
    their dir() of the flags."""
    set_flags = getattr(getattr(field, "flags", None), "__dict__", {})
    for name in widget.validation_attrs:
        if name in set_flags and name not in kwargs:
            value = set_flags[name]
            kwargs[name] = value() if call and callable(value) else value


class _FastInput:
    """wtforms' Input.__call__ (a radio's or checkbox's), through the faster html_params."""

    input_type: str
    validation_attrs: list[str]

    def __call__(self, field, **kwargs):
        if getattr(field, "checked", field.data):
            kwargs.setdefault("checked", True)
        kwargs.setdefault("id", field.id)
        kwargs.setdefault("type", self.input_type)
        if "value" not in kwargs:
            kwargs["value"] = field._value()
        _flag_attributes(self, field, kwargs)
        return Markup(f"<input {html_params(name=field.name, **kwargs)}>")


class FastRadioInput(_FastInput, RadioInput):
    html_params = staticmethod(html_params)


class FastCheckboxInput(_FastInput, CheckboxInput):
    html_params = staticmethod(html_params)


class FastTextArea(TextArea):
    """wtforms' TextArea, through the faster html_params."""

    def __call__(self, field, **kwargs):
        kwargs.setdefault("id", field.id)
        _flag_attributes(self, field, kwargs, call=False)
        inner = escape(field._value())
        return Markup(f"<textarea {html_params(name=field.name, **kwargs)}>\r\n{inner}</textarea>")


class FastLabel(Label):
    """wtforms' Label, through the faster html_params."""

    def __call__(self, text=None, **kwargs):
        if "for_" in kwargs:
            kwargs["for"] = kwargs.pop("for_")
        else:
            kwargs.setdefault("for", self.field_id)
        attributes = html_params(**kwargs)
        attributes = f" {attributes}" if attributes else ""
        return Markup(f"<label{attributes}>{escape(text or self.text)}</label>")


class _FastOption(wtforms.SelectFieldBase._Option):
    """An option of a radio or checkbox list, its label rendered through FastLabel."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.label = FastLabel(self.label.field_id, self.label.text)


class RadioField(wtforms.RadioField):
    """wtforms' RadioField, its options rendered through the faster html_params (same name:
    templates tell fields apart by `field.type`)."""

    option_widget = FastRadioInput()
    _Option = _FastOption


def choices_of(labels: dict) -> list[SelectChoice]:
    """A select's options from {value: label} whose labels may be lazy (translated as the form
    renders): WTForms' dict shorthand takes plain strings only."""
    return [SelectChoice(value, label) for value, label in labels.items()]


class MultiCheckboxField(SelectMultipleField):
    """A multiple choice rendered as a list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = FastCheckboxInput()
    _Option = _FastOption


class TextAreaField(wtforms.TextAreaField):
    """wtforms' TextAreaField rendered through the faster html_params (same name: templates
    tell fields apart by `field.type`)."""

    widget = FastTextArea()
