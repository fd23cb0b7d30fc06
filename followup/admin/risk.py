"""Console page /admin/risk: the dissatisfaction risk score as admins judge it. Which source
scores closing cases now (the rules, or model N), the rules' weights, and every trained
version with its held-out measures (ROC AUC against the rules' on the same rounds, Brier
scores, the calibration table) and its features' weights. Managers, leads and admins read it;
"Train now" (admins only, the "users" ability: it changes what scores every case) queues the
nightly job's training for a worker now (scikit-learn stays out of the web processes), and
is audited."""

import sqlalchemy as sa
from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from redis.exceptions import RedisError

from followup import audit, risk
from followup.admin import bp
from followup.extensions import db
from followup.models import RiskModel
from followup.web.console import needs
from workers import jobs
from workers.queues import queue

SHOWN = 20  # the newest versions listed
TRAIN_TIMEOUT = 600  # seconds: a year of answered cases trains in a few


@bp.get("/risk")
@needs("read")
def risk_page():
    models = db.session.scalars(
        sa.select(RiskModel).order_by(RiskModel.version.desc()).limit(SHOWN)
    ).all()
    active = next((model for model in models if model.active), None) or risk.active_model()
    return render_template(
        "admin/risk.html",
        models=models,
        active=active,
        rules=risk.RULES,
        rules_base=risk.RULES_BASE,
        rules_floor=risk.rules_score({}),
        min_answers=current_app.config["RISK_MIN_ANSWERS"],
        train_days=current_app.config["RISK_TRAIN_DAYS"],
    )


@bp.post("/risk/train")
@needs("users")
def risk_train():
    try:
        job = queue("default").enqueue(
            jobs.train_risk_model,
            description="train the risk model (Train now)",
            job_timeout=TRAIN_TIMEOUT,
            result_ttl=86400,
            failure_ttl=86400,
        )
    except RedisError:
        flash(_("Not queued: the workers' Redis is out of reach (see the health page). Try again."))
        return redirect(url_for("admin.risk_page"), 303)
    audit.record("train", "risk_model", job.id, "Train now: a new risk model version queued")
    db.session.commit()
    flash(
        _(
            "Training queued: a worker trains the new version in a minute or so; reload this "
            "page to see it. With fewer than %(count)s answered cases (20 of them negative, 20 "
            "not) no version is made and the rules keep scoring.",
            count=current_app.config["RISK_MIN_ANSWERS"],
        )
    )
    return redirect(url_for("admin.risk_page"), 303)
