"""Text as people type it into the console, the API and the survey pages, cleaned the one way
every layer keeps it: control characters (NUL ...) other than line breaks and tabs dropped,
spaces trimmed. The web's forms use it as a WTForms filter (followup.web.forms re-exports it);
the domain (root cause notes) cleans with it too. is_text: whether a string is Unicode text a
column keeps (no lone surrogate, as a JSON \\ud800 escape or a form can send)."""

# Control characters other than line breaks and tabs: no column keeps NUL, none is meant.
_CONTROL = dict.fromkeys(c for c in range(32) if chr(c) not in "\n\r\t") | {0x7F: None}


def clean_text(value: str | None) -> str | None:
    """Control characters (NUL ...) dropped, spaces trimmed; anything but a string as given
    (a form filter sees None for a missing field)."""
    return value.translate(_CONTROL).strip() if isinstance(value, str) else value


def is_text(value: str) -> bool:
    """Whether the string is Unicode text (no lone surrogate): what a database column keeps."""
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True
