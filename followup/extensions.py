"""Flask extensions: created here unbound, bound to the app in create_app(); and the app's
Redis connection."""

import ipaddress
from typing import TYPE_CHECKING

import redis
from flask import current_app
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
# The models' base class: db.Model at run time (it adds the query property and table names),
# declared as the plain declarative base for the type checker, which cannot see db.Model.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model
migrate = Migrate()
csrf = CSRFProtect()
babel = Babel()
login_manager = LoginManager()


def client_address() -> str:
    """The address a request came from, as the proxies in front say (ProxyFix takes the
    FOLLOWUP_TRUSTED_PROXIES-th address from the right of X-Forwarded-For, which a client
    cannot forge; with no trusted proxy the header is ignored). An IPv6 client holds a whole
    /64, so it counts as its /64."""
    address = get_remote_address()
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


# Only routes that ask for a limit are limited (sign-in); storage is Redis (create_app).
limiter = Limiter(key_func=client_address)


def redis_connection() -> redis.Redis:
    """The app's Redis client: one connection pool per app, made on first use (never at
    import), for enqueueing and the providers' pacing. A Redis out of reach, or one that takes
    connections and never answers, fails a command within seconds instead of holding it."""
    extensions = current_app.extensions
    if "followup_redis" not in extensions:
        extensions["followup_redis"] = redis.Redis.from_url(
            current_app.config["REDIS_URL"], socket_connect_timeout=5, socket_timeout=10
        )
    return extensions["followup_redis"]
