"""Sociétés (with their comptes bancaires), clients (with their GED) and contrats.

Thin views: parse, authorize, call one service, render (the request commits: see
``portal.transactions``). Invalid submissions re-render the form with the messages next to the
fields (HTTP 422, which rolls back) and change nothing.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from werkzeug.wrappers import Response

from portal import storage, transactions
from portal.auth.access import requires
from portal.auth.models import Role
from portal.extensions import db
from portal.htmx import fragment, render
from portal.pagination import requested_page
from portal.portfolio import client_picker, queries, rules, services
from portal.portfolio.forms import (
    BankAccountForm,
    ClientForm,
    CompanyForm,
    ContractForm,
    DocumentUploadForm,
)
from portal.portfolio.models import BankAccount, Client, ClientDocument, Company, Contract
from portal.settings.chorus import is_chorus_enabled
from portal.validators import ValidationFailed, parse_row_id, submit

bp = Blueprint("portfolio", __name__)

INVALID = 422


def _get_or_404(model: type[Any], ident: int) -> Any:
    found = db.session.get(model, ident)
    if found is None:
        abort(404)
    return found


def _page_arg() -> int:
    return requested_page(request.args.get("page"))


@bp.app_template_global("portfolio_page_url")
def page_url(page: int) -> str:
    """URL of the current list page with its filters and another page number."""
    args: dict[str, Any] = request.args.to_dict()
    args["page"] = str(page)
    return url_for(request.endpoint or "", **(request.view_args or {}), **args)


# -- sociétés ------------------------------------------------------------------------------------


@bp.route("/societes")
def companies_list() -> Response:
    return render("portfolio/companies_list.html", rows=queries.companies_overview())


@bp.route("/societes/nouvelle", methods=["GET", "POST"])
@requires(Role.GESTIONNAIRE)
def company_create() -> Any:
    form = CompanyForm()
    company = submit(form, lambda: services.create_company(form.to_data()))
    if company is not None:
        flash(f"Société « {company.name} » créée.", "success")
        return redirect(url_for(".company_detail", company_id=company.id))
    return _form_page("portfolio/company_form.html", form, company=None)


@bp.route("/societes/<int:company_id>")
def company_detail(company_id: int) -> str:
    company = _get_or_404(Company, company_id)
    return render_template(
        "portfolio/company_detail.html",
        company=company,
        usage=queries.bank_account_usage(company.id),
        contract_count=queries.company_contract_count(company.id),
    )


@bp.route("/societes/<int:company_id>/modifier", methods=["GET", "POST"])
@requires(Role.GESTIONNAIRE)
def company_edit(company_id: int) -> Any:
    company = _get_or_404(Company, company_id)
    form = CompanyForm(obj=company)
    if submit(form, lambda: services.update_company(company, form.to_data())) is not None:
        flash("Société enregistrée.", "success")
        return redirect(url_for(".company_detail", company_id=company.id))
    return _form_page("portfolio/company_form.html", form, company=company)


@bp.route("/societes/<int:company_id>/comptes/nouveau", methods=["GET", "POST"])
@requires(Role.GESTIONNAIRE)
def bank_account_create(company_id: int) -> Any:
    company = _get_or_404(Company, company_id)
    form = BankAccountForm(chorus_enabled=is_chorus_enabled())
    if submit(form, lambda: services.create_bank_account(company, form.to_data())) is not None:
        flash("Compte bancaire ajouté.", "success")
        return redirect(url_for(".company_detail", company_id=company.id) + "#comptes")
    return _form_page("portfolio/bank_account_form.html", form, company=company, account=None)


@bp.route("/comptes-bancaires/<int:account_id>/modifier", methods=["GET", "POST"])
@requires(Role.GESTIONNAIRE)
def bank_account_edit(account_id: int) -> Any:
    account = _get_or_404(BankAccount, account_id)
    company = account.company
    form = BankAccountForm(obj=account, chorus_enabled=is_chorus_enabled())
    if submit(form, lambda: services.update_bank_account(account, form.to_data())) is not None:
        flash("Compte bancaire enregistré.", "success")
        return redirect(url_for(".company_detail", company_id=company.id) + "#comptes")
    return _form_page("portfolio/bank_account_form.html", form, company=company, account=account)


@bp.route("/comptes-bancaires/<int:account_id>/supprimer", methods=["POST"])
@requires(Role.GESTIONNAIRE)
def bank_account_delete(account_id: int) -> Response:
    account = _get_or_404(BankAccount, account_id)
    company_id = account.company_id
    try:
        services.delete_bank_account(account)
    except ValidationFailed as failure:
        transactions.rollback()
        flash(str(failure), "danger")
    else:
        flash("Compte bancaire supprimé.", "success")
    return redirect(url_for(".company_detail", company_id=company_id) + "#comptes")


# -- clients -------------------------------------------------------------------------------------


@bp.route("/clients")
def clients_list() -> Response:
    query = request.args.get("q", "").strip()
    pagination = queries.search_clients(query, _page_arg())
    return render(
        "portfolio/clients_list.html",
        "portfolio/_clients_table.html",
        pagination=pagination,
        q=query,
    )


@bp.route("/clients/nouveau", methods=["GET", "POST"])
@requires(Role.GESTIONNAIRE)
def client_create() -> Any:
    form = ClientForm(chorus_enabled=is_chorus_enabled())
    client = submit(form, lambda: services.create_client(form.to_data()))
    if client is not None:
        flash(f"Client « {client.name} » créé.", "success")
        _warn_shared_siret(client)
        return redirect(url_for(".client_detail", client_id=client.id))
    return _form_page("portfolio/client_form.html", form, client=None)


@bp.route("/clients/<int:client_id>")
def client_detail(client_id: int) -> str:
    client = _get_or_404(Client, client_id)
    return _client_page(client, DocumentUploadForm())


def _warn_shared_siret(client: Client) -> None:
    """Saved, but another client has this SIRET: say so (the page links to it)."""
    others = queries.clients_sharing_siret(client)
    if others:
        flash(
            f"Le SIRET {client.siret} est aussi celui du client « {others[0].name} » : "
            "vérifiez qu'il ne s'agit pas d'un doublon.",
            "warning",
        )


def _client_page(client: Client, upload_form: DocumentUploadForm) -> str:
    return render_template(
        "portfolio/client_detail.html",
        client=client,
        same_siret=queries.clients_sharing_siret(client),
        contracts=queries.contracts_of_client(client.id),
        upload_form=upload_form,
        upload_max_bytes=current_app.config["UPLOAD_MAX_BYTES"],
        allowed_extensions=rules.allowed_extensions_text(),
        chorus_excluded=" et ".join(
            f".{extension}"
            for extension in sorted(rules.GED_EXTENSIONS - rules.CHORUS_ATTACHMENT_EXTENSIONS)
        ),
        chorus_name_max=rules.CHORUS_ATTACHMENT_NAME_MAX,
        chorus_problems=rules.chorus_attachment_problems,
    )


@bp.route("/clients/<int:client_id>/modifier", methods=["GET", "POST"])
@requires(Role.GESTIONNAIRE)
def client_edit(client_id: int) -> Any:
    client = _get_or_404(Client, client_id)
    form = ClientForm(obj=client, chorus_enabled=is_chorus_enabled())
    if submit(form, lambda: services.update_client(client, form.to_data())) is not None:
        flash("Client enregistré.", "success")
        _warn_shared_siret(client)
        return redirect(url_for(".client_detail", client_id=client.id))
    return _form_page("portfolio/client_form.html", form, client=client)


@bp.route("/clients/<int:client_id>/documents", methods=["POST"])
@requires(Role.GESTIONNAIRE)
def document_upload(client_id: int) -> Any:
    client = _get_or_404(Client, client_id)
    form = DocumentUploadForm()
    document = submit(
        form,
        lambda: services.add_client_document(
            client,
            form.file.data.filename,
            form.file.data.stream,
            max_bytes=current_app.config["UPLOAD_MAX_BYTES"],
            uploaded_by_id=current_user.id,
        ),
    )
    if document is not None:
        flash(f"Document « {document.original_name} » ajouté à la GED.", "success")
        return redirect(url_for(".client_detail", client_id=client.id) + "#documents")
    return _client_page(client, form), INVALID


@bp.route("/documents/<int:document_id>/telecharger")
def document_download(document_id: int) -> Response:
    document = _get_or_404(ClientDocument, document_id)
    path = storage.path_of(storage.GED, document.stored_name)
    if not path.is_file():
        abort(404)
    response = send_file(
        path,
        mimetype=document.mime_type,
        as_attachment=True,
        download_name=document.original_name,
        max_age=0,
    )
    # A stored HTML/SVG file must never run in the portal's origin, even if opened inline.
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response


@bp.route("/documents/<int:document_id>/supprimer", methods=["POST"])
@requires(Role.GESTIONNAIRE)
def document_delete(document_id: int) -> Response:
    document = _get_or_404(ClientDocument, document_id)
    client_id, name = document.client_id, document.original_name
    services.delete_client_document(document)
    flash(f"Document « {name} » supprimé.", "success")
    return redirect(url_for(".client_detail", client_id=client_id) + "#documents")


# -- contrats ------------------------------------------------------------------------------------


def _contract_filters(chorus_enabled: bool) -> queries.ContractFilters:
    chorus_arg = request.args.get("chorus", "")
    chorus = {"oui": True, "non": False}.get(chorus_arg) if chorus_enabled else None
    return queries.ContractFilters(
        client_id=_id_filter("client_id", "client"),
        client=request.args.get("client", "").strip()[:100] or None,
        company_id=_id_filter("company_id", "société"),
        number=request.args.get("numero", "").strip()[:40] or None,
        chorus=chorus,
    )


def _id_filter(name: str, label: str) -> int | None:
    """A row id of the query string; an invalid one is ignored with a French warning."""
    raw = request.args.get(name, "").strip()
    ident = parse_row_id(raw)
    if raw and ident is None:
        flash(f"Filtre « {label} » ignoré : valeur invalide.", "warning")
    return ident


@bp.route("/contrats")
def contracts_list() -> Response:
    chorus_enabled = is_chorus_enabled()
    filters = _contract_filters(chorus_enabled)
    return render(
        "portfolio/contracts_list.html",
        "portfolio/_contracts_table.html",
        pagination=queries.contracts_page(filters, _page_arg()),
        filters=filters,
        chosen_client=queries.client(filters.client_id) if filters.client_id else None,
        companies=queries.company_choices(),
    )


@bp.route("/contrats/nouveau", methods=["GET", "POST"])
@requires(Role.GESTIONNAIRE)
def contract_create() -> Any:
    initial = {}
    if request.method == "GET":
        initial = {
            "client_id": parse_row_id(request.args.get("client_id")),
            "company_id": parse_row_id(request.args.get("company_id")),
        }
    form = ContractForm(chorus_enabled=is_chorus_enabled(), data=initial or None)
    contract = submit(form, lambda: services.create_contract(form.to_data()))
    if contract is not None:
        flash(f"Contrat {contract.number} créé.", "success")
        return redirect(url_for(".contract_detail", contract_id=contract.id))
    return _form_page("portfolio/contract_form.html", form, contract=None)


@bp.route("/contrats/<int:contract_id>")
def contract_detail(contract_id: int) -> str:
    contract = _get_or_404(Contract, contract_id)
    return render_template("portfolio/contract_detail.html", contract=contract)


@bp.route("/contrats/<int:contract_id>/modifier", methods=["GET", "POST"])
@requires(Role.GESTIONNAIRE)
def contract_edit(contract_id: int) -> Any:
    contract = _get_or_404(Contract, contract_id)
    form = ContractForm(obj=contract, chorus_enabled=is_chorus_enabled())
    if submit(form, lambda: services.update_contract(contract, form.to_data())) is not None:
        flash(f"Contrat {contract.number} enregistré.", "success")
        return redirect(url_for(".contract_detail", contract_id=contract.id))
    return _form_page("portfolio/contract_form.html", form, contract=contract)


@bp.route("/clients/choix")
@requires(Role.GESTIONNAIRE)
def client_options() -> Response:
    """HTMX: the options of a client picker for what was typed (contract, fee invoice)."""
    choices = client_picker.client_options(
        request.args.get("recherche_client"), parse_row_id(request.args.get("client_id"))
    )
    return fragment("portfolio/_client_options.html", choices=choices)


@bp.route("/contrats/champ-compte-bancaire")
def contract_bank_account_field() -> Response:
    """HTMX: the bank-account select of the contract form for the chosen company."""
    form = ContractForm(
        formdata=None,
        chorus_enabled=False,
        with_party_choices=False,
        data={"company_id": parse_row_id(request.args.get("company_id"))},
    )
    return fragment("portfolio/_bank_account_field.html", form=form)


def _form_page(template: str, form: Any, **context: Any) -> Any:
    """Render a form page: 200 on display, 422 when a submission was refused."""
    status = INVALID if form.is_submitted() else 200
    return render_template(template, form=form, **context), status
