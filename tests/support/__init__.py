"""Test and bench tooling shared by tests/ and bench/: the provider emulator, the PostgreSQL and
Redis set-up, factories (cases closed through the API, surveys answered, batches swept and
dispatched, console sign-in) and waiting on a condition. The product never imports it."""
