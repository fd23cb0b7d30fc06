"""Console page /admin/risk: the dissatisfaction risk score as admins judge it. Which source
scores closing cases now (the rules, or model N), the rules' weights, and every trained
version with its held-out measures (ROC AUC against the rules' on the same rounds, Brier
scores, the calibration table) and its features' weights. Managers, leads and admins read it;
"Train now" (admins only, the "users" ability: it changes what scores every case) trains a
version at once, as the nightly job does, and is audited."""

import sqlalchemy as sa
from flask import current_app, flash, redirect, render_template, url_for

from followup import audit, risk
from followup.admin import bp
from followup.extensions import db
from followup.models import RiskModel
from followup.models.base import utcnow
from followup.web.console import needs

SHOWN = 20  # the newest versions listed


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
    version = risk.train(utcnow())
    if version is None:
        db.session.rollback()
        flash(
            "Not enough answered cases to train on yet: at least "
            f"{current_app.config['RISK_MIN_ANSWERS']} answered rounds with 20 negative and 20 "
            "other answers are needed. The rules keep scoring."
        )
        return redirect(url_for("admin.risk_page"), 303)
    model = db.session.scalar(sa.select(RiskModel).where(RiskModel.version == version))
    summary = f"model {version}: held-out AUC {model.auc}, rules {model.rules_auc}"
    audit.record("train", "risk_model", model.id, summary, None, {"active": model.active})
    db.session.commit()
    verdict = (
        "it ranks the held-out cases better than the rules and scores closing cases now"
        if model.active
        else "it does not rank the held-out cases better than the rules, so it is not used"
    )
    flash(f"Trained model {version}: {verdict}.")
    return redirect(url_for("admin.risk_page", _anchor=f"model-{version}"), 303)
