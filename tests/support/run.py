"""The backends this test run uses, chosen once: DB_BACKEND ("postgres" or "sqlite") and
REDIS_BACKEND ("server" or "embedded"). FOLLOWUP_TEST_DB=sqlite|postgres and
FOLLOWUP_TEST_REDIS=embedded force a choice; FOLLOWUP_TEST_PG_URL (an admin URL that may create
databases) and FOLLOWUP_TEST_REDIS_URL say where to look."""

import os

from tests.support import backends

PG_ADMIN_URL = os.environ.get("FOLLOWUP_TEST_PG_URL", backends.PG_ADMIN_URL)
REDIS_TEST_URL = os.environ.get("FOLLOWUP_TEST_REDIS_URL", backends.REDIS_URL)
DB_BACKEND = backends.database_kind(PG_ADMIN_URL, os.environ.get("FOLLOWUP_TEST_DB"))
REDIS_BACKEND = backends.redis_kind(REDIS_TEST_URL, os.environ.get("FOLLOWUP_TEST_REDIS"))
