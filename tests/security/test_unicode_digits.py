"""Numbers in a query written with other Unicode digits ('²', '٣'): str.isdigit() accepts
them and int() refuses them, so each is an ordinary bad value (the first page, a 422),
never a 500."""

import pytest

from tests.support.hostile import PATH_SEGMENTS

DIGITS = PATH_SEGMENTS["unicode_digits"]


@pytest.mark.parametrize(
    "path, status",
    [
        (f"/admin/audit-log?page={DIGITS}", 200),
        (f"/dashboard/cases?page={DIGITS}", 200),
        (f"/dashboard/?survey={DIGITS}", 422),
        (f"/api/v1/recoveries?limit={DIGITS}", 422),
    ],
)
def test_unicode_digits_in_a_query(as_admin, seeded, path, status):
    response = as_admin.get(path, headers=seeded["auth"] if path.startswith("/api/") else {})
    assert response.status_code == status, response.get_data(as_text=True)[:300]
