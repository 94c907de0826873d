"""Command-line commands: ``flask --app portal users create``, ``seed-demo`` …"""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from portal.auth.models import Role, User
from portal.auth.password_policy import password_problem
from portal.extensions import db

users_cli = AppGroup("users", help="Gestion des utilisateurs.")


@users_cli.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.LECTURE.value)
@click.option("--full-name", default="")
@click.option("--email", default=None)
@click.password_option("--password", help="Demandé interactivement s'il est omis.")
def create_user(username: str, role: str, full_name: str, email: str | None, password: str) -> None:
    """Create a user (or fail if the name is taken)."""
    if db.session.scalar(select(User).where(User.username == username)):
        raise click.ClickException(f"L'utilisateur « {username} » existe déjà.")
    if problem := password_problem(password, username):
        raise click.ClickException(problem)
    user = User(username=username, role=role, full_name=full_name, email=email)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    click.echo(f"Utilisateur « {username} » créé avec le rôle {Role(role).label}.")


@click.command("seed-demo")
@click.option(
    "--if-empty",
    is_flag=True,
    help="Ne rien faire (sans erreur) si la base contient déjà des données.",
)
@click.option("--scale", type=float, default=1.0, hidden=True)
def seed_demo_command(if_empty: bool, scale: float) -> None:
    """Load the demo data into an empty database (users admin / gestionnaire / lecture,
    password demo-courtier-2026)."""
    from portal import clock
    from portal.demo.seed import DatabaseNotEmpty, seed_demo

    try:
        summary = seed_demo(clock.today(), scale=scale)
    except DatabaseNotEmpty as error:
        if if_empty:
            click.echo("La base contient déjà des données : démonstration non rechargée.")
            return
        raise click.ClickException(str(error)) from error
    click.echo("Données de démonstration chargées.")
    for line in summary.lines():
        click.echo(f"  {line}")


def register(app: Flask) -> None:
    from portal.dematerialization.cli import chorus_cli

    app.cli.add_command(users_cli)
    app.cli.add_command(chorus_cli)
    app.cli.add_command(seed_demo_command)
