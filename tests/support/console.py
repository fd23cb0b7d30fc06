"""Signing in to the console and posting its forms from the Flask test client: the password
every test user has, the sign-in form, and the CSRF token of a page's form."""

import functools
import re
from html.parser import HTMLParser

from werkzeug.security import generate_password_hash

PASSWORD = "correct horse battery staple"


@functools.cache
def password_hash() -> str:
    """PASSWORD hashed once a run, with scrypt at a test's cost: the product's default cost
    takes a sixth of a second on every sign-in, and the tests sign in hundreds of times.
    Checking reads the cost from the hash, so sign-in runs the product's own code."""
    return generate_password_hash(PASSWORD, method="scrypt:1024:8:1")


def sign_in(client, email: str, password: str = PASSWORD, remember: bool = False):
    """Sign the test client in through the real form (CSRF token included)."""
    page = client.get("/admin/sign-in").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    data = {"csrf_token": token, "email": email, "password": password}
    if remember:
        data["remember"] = "y"
    return client.post("/admin/sign-in", data=data)


def csrf_token(client, path: str) -> str:
    """The CSRF token of the form on a console page."""
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def csrf_token_in(html: str) -> str:
    """The CSRF token of the form in this page's HTML."""
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match, "no csrf_token field on the page"
    return match.group(1)


class FormFields(HTMLParser):
    """What a browser sends for the page's (first POST) form: inputs, checked boxes,
    textareas and selected options."""

    def __init__(self):
        super().__init__()
        self.data: dict[str, str] = {}
        self._textarea = self._select = None
        self._in_form = self._done = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("method") == "post" and not self._done and not a.get("action"):
            self._in_form = True
        if not self._in_form:
            return
        if tag == "input" and a.get("name"):
            if a.get("type") in ("checkbox", "radio"):
                if "checked" in a:
                    self.data[a["name"]] = a.get("value", "y")
            else:
                self.data[a["name"]] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a["name"]
            self.data[self._textarea] = ""
        elif tag == "select":
            self._select = a["name"]
        elif tag == "option" and self._select and "selected" in a:
            self.data[self._select] = a.get("value", "")

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "textarea":
            if self._textarea:
                self.data[self._textarea] = self.data[self._textarea].removeprefix("\r\n")
            self._textarea = None
        elif tag == "select":
            self._select = None
        elif tag == "form" and self._in_form:
            self._in_form, self._done = False, True


def form_of(client, path: str) -> dict:
    """The fields of the page's form as a browser would send them."""
    parser = FormFields()
    parser.feed(client.get(path).get_data(as_text=True))
    return parser.data
