"""Command-line commands: ``flask --app portal users create``, ``seed-demo`` …"""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from portal.auth.models import Role, User
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
    if len(password) < 8:
        raise click.ClickException("Le mot de passe doit contenir au moins 8 caractères.")
    user = User(username=username, role=role, full_name=full_name, email=email)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    click.echo(f"Utilisateur « {username} » créé avec le rôle {Role(role).label}.")


def register(app: Flask) -> None:
    app.cli.add_command(users_cli)
