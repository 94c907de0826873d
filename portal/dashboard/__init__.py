"""Home page: a few counts and shortcuts."""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import func, select

from portal.billing.models import FeeInvoice, Receipt
from portal.extensions import db
from portal.portfolio.models import Client, Contract

bp = Blueprint("dashboard", __name__)


@bp.route("/")
def index() -> str:
    counts = {
        "clients": db.session.scalar(select(func.count()).select_from(Client)),
        "contracts": db.session.scalar(select(func.count()).select_from(Contract)),
        "receipts": db.session.scalar(select(func.count()).select_from(Receipt)),
        "fee_invoices": db.session.scalar(select(func.count()).select_from(FeeInvoice)),
    }
    return render_template("dashboard/index.html", counts=counts)
