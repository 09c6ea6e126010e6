"""Texts of the account pages (one's password, the operators' locks) and of the password
policy's refusals, in French then English."""

from __future__ import annotations

__all__ = ["ACCOUNT_MESSAGES"]

ACCOUNT_MESSAGES: dict[str, tuple[str, str]] = {
    "nav_account": ("Mon compte", "My account"),
    "nav_operators_admin": ("Exploitants", "Operators"),
    "login_throttled": (
        "Trop d'échecs de connexion depuis cette adresse : réessayez dans {minutes} min.",
        "Too many failed logins from this address: try again in {minutes} min.",
    ),
    "account_title": ("Mon compte", "My account"),
    "account_lead": ("Connecté en tant que {email}.", "Logged in as {email}."),
    "password_change_title": ("Changer de mot de passe", "Change your password"),
    "password_rules": (
        "De {min} à {max} caractères, espaces et accents permis : quelques mots sans lien "
        "font un bon mot de passe. Refusés : les mots de passe courants ou divulgués, les "
        "suites (1234…, azerty…), les répétitions, votre adresse et le nom du service.",
        "{min} to {max} characters, spaces and accents allowed: a few unrelated words make a "
        "good password. Refused: common or breached passwords, runs (1234…, qwerty…), "
        "repetitions, your address and the service's name.",
    ),
    "password_current": ("Mot de passe actuel", "Current password"),
    "password_new": ("Nouveau mot de passe", "New password"),
    "password_confirm": ("Nouveau mot de passe, à nouveau", "New password, again"),
    "password_change_submit": ("Changer le mot de passe", "Change password"),
    "password_changed": ("Mot de passe changé.", "Password changed."),
    "password_mismatch": (
        "Les deux saisies du nouveau mot de passe diffèrent.",
        "The two entries of the new password differ.",
    ),
    "password_current_wrong": (
        "Le mot de passe actuel est incorrect.", "The current password is wrong."),
    # the password policy's refusals (fleet/core/passwords.py REASONS)
    "pw_too_short": (
        "Trop court : au moins {min} caractères (quelques mots font l'affaire).",
        "Too short: at least {min} characters (a few words will do).",
    ),
    "pw_too_long": ("Trop long : au plus {max} caractères.", "Too long: at most {max} characters."),
    "pw_whitespace_only": ("Uniquement des espaces.", "Only spaces."),
    "pw_repeated_character": ("Un seul caractère répété.", "One character repeated."),
    "pw_repetitive": (
        "Un motif court répété (abcabc…, motmot).",
        "A short pattern repeated (abcabc…, wordword).",
    ),
    "pw_sequential": (
        "Une suite de caractères consécutifs (1234…, abcd…, azerty…).",
        "A run of consecutive characters (1234…, abcd…, qwerty…).",
    ),
    "pw_context_word": (
        "Bâti sur votre adresse ou le nom du service : sans eux, il est trop court.",
        "Built on your address or the service's name: without them it is too short.",
    ),
    "pw_common_password": (
        "Mot de passe courant ou divulgué (présent dans une liste de mots de passe connus).",
        "A common or breached password (on a list of known passwords).",
    ),
    # operators (admin)
    "operators_title": ("Exploitants", "Operators"),
    "operators_lead": (
        "Un compte se verrouille pour tous après de nombreux échecs depuis plusieurs adresses ; "
        "« Déverrouiller » lève ce verrou et les compteurs d'échecs de chaque adresse sur ce "
        "compte (inscrit au journal d'audit).",
        "An account locks for everybody after many failures from several addresses; "
        "\"Unlock\" lifts that lock and every address's failure count on the account "
        "(written to the audit log).",
    ),
    "operators_caption": ("Comptes des exploitants", "Operators' accounts"),
    "operator_name": ("Nom", "Name"),
    "operator_lock": ("Verrou", "Lock"),
    "operator_disabled": ("désactivé", "disabled"),
    "operator_locked_until": ("verrouillé jusqu'à {when}", "locked until {when}"),
    "operator_not_locked": ("non verrouillé", "not locked"),
    "operator_unlock": ("Déverrouiller", "Unlock"),
    "operator_unlock_for": ("Déverrouiller {email}", "Unlock {email}"),
    "operator_unlocked_flash": (
        "Compte déverrouillé (inscrit au journal d'audit).",
        "Account unlocked (written to the audit log).",
    ),
}
