"""Web-common: what several blueprints share (error answers and pages, JSON bodies and their
validation errors, API keys, the console's access rule, form fields, paging, the survey
page). It imports no blueprint; the blueprints import it."""
