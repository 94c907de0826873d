"""Pure rules for a new password (issue 12): long enough, not common, not the username.

Applied wherever a password is chosen: « Mon compte », an administrator creating a user or
resetting a password, ``flask users create``, the demo seed. Passwords stored before these rules
keep working: only new ones are checked.

- 12 to 128 characters (Unicode characters, as typed; the upper bound keeps hashing cheap).
- Not common: zxcvbn (a maintained port of Dropbox's estimator) matches the password against
  its lists of leaked passwords (the 30,000 most frequent), English words, first names and
  surnames, and recognises keyboard rows, repetitions, sequences and dates, with l33t and
  reversed variants. A password it estimates guessable in fewer than 10⁸ tries (score 0–2:
  « motdepasse123 », « azertyuiop12 », « aaaaaaaaaaaa », « Password123! ») is refused.
- Not close to the username, case-insensitively: it contains the username (3 characters or
  more), or is contained in it, or ``difflib`` finds them at least 70 % alike (a username with
  one or two characters changed or added: « gestionnaire » → « Gestionnaire1! »).
"""

from __future__ import annotations

from difflib import SequenceMatcher

from zxcvbn import zxcvbn

MIN_LENGTH = 12
MAX_LENGTH = 128
# zxcvbn's score: 3 = at least 10⁸ guesses (« safely unguessable » online, slowed offline).
MIN_SCORE = 3
# Usernames shorter than this are not looked for inside passwords (« jo » is in many words).
MIN_USERNAME_INSIDE = 3
SIMILARITY_LIMIT = 0.7

TOO_SHORT = f"Le mot de passe doit contenir au moins {MIN_LENGTH} caractères."
TOO_LONG = f"Le mot de passe doit contenir au plus {MAX_LENGTH} caractères."
TOO_COMMON = (
    "Ce mot de passe est trop courant ou trop facile à deviner (mot de passe répandu, suite, "
    "répétition, rangée du clavier) : choisissez-en un autre, par exemple plusieurs mots "
    "séparés par des tirets."
)
CLOSE_TO_USERNAME = "Le mot de passe ne doit pas ressembler à l'identifiant."
HINT = (
    f"De {MIN_LENGTH} à {MAX_LENGTH} caractères, ni trop courant ni proche de l'identifiant "
    "(plusieurs mots séparés par des tirets font un bon mot de passe)."
)


def is_close_to_username(password: str, username: str) -> bool:
    """True when ``password`` contains ``username``, is inside it or looks much like it."""
    secret, name = password.casefold(), username.strip().casefold()
    if not name:
        return False
    if len(name) >= MIN_USERNAME_INSIDE and name in secret:
        return True
    if secret in name:
        return True
    return SequenceMatcher(None, secret, name, autojunk=False).ratio() >= SIMILARITY_LIMIT


def is_common(password: str, username: str = "") -> bool:
    """True when zxcvbn estimates ``password`` guessable in fewer than 10⁸ tries."""
    inputs = [username.strip()] if username.strip() else []
    result = zxcvbn(password, user_inputs=inputs, max_length=MAX_LENGTH)
    return int(result["score"]) < MIN_SCORE


def password_problem(password: str | None, username: str) -> str | None:
    """The French reason ``password`` is refused for the account ``username``, or None."""
    text = password or ""
    if len(text) < MIN_LENGTH:
        return TOO_SHORT
    if len(text) > MAX_LENGTH:
        return TOO_LONG
    if is_close_to_username(text, username):
        return CLOSE_TO_USERNAME
    if is_common(text, username):
        return TOO_COMMON
    return None
