"""Texts of the claim-code pages (codes, labels), in French then English."""

from __future__ import annotations

__all__ = ["CLAIM_MESSAGES"]

CLAIM_MESSAGES: dict[str, tuple[str, str]] = {
    "nav_claim_codes": ("Codes d'installation", "Claim codes"),
    "claim_codes_title": ("Codes d'installation", "Claim codes"),
    "claim_codes_lead": (
        "Chaque code, à usage unique, installe un capteur dans une zone : le technicien le "
        "scanne sur l'étiquette. Un code perdu s'annule ici.",
        "Each one-time code provisions one device in a zone: the technician scans it from its "
        "label. Cancel a lost code here.",
    ),
    "create_codes_title": ("Créer des codes", "Create codes"),
    "field_zone_id": ("Zone", "Zone"),
    "field_profile_id": ("Profil", "Profile"),
    "field_gateway_id": ("Passerelle", "Gateway"),
    "field_count": ("Nombre de codes", "Number of codes"),
    "field_ttl_days": ("Validité (jours)", "Valid for (days)"),
    "ttl_days_help": (
        "Vide : la durée par défaut du service (30 jours).",
        "Empty: the service's default (30 days).",
    ),
    "no_gateway": ("Aucune (choisie plus tard)", "None (chosen later)"),
    "create_codes": ("Créer et imprimer", "Create and print"),
    "codes_refused": ("Codes non créés : {detail}.", "No codes created: {detail}."),
    "unused_codes_title": ("Codes non utilisés", "Unused codes"),
    "unused_codes_caption": (
        "Codes ni utilisés ni annulés, du plus ancien au plus récent",
        "Codes neither used nor cancelled, oldest first",
    ),
    "code_id": ("Code", "Code"),
    "code_hint": ("Se termine par", "Ends with"),
    "print_label": ("Étiquette", "Label"),
    "print_all_labels": (
        "Imprimer les étiquettes de tous les codes non utilisés",
        "Print the labels of every unused code",
    ),
    "cancel_code": ("Annuler", "Cancel"),
    "cancel_code_label": ("Annuler le code n° {id}", "Cancel code #{id}"),
    "code_cancelled_flash": ("Code annulé.", "Code cancelled."),
    "claim_code_not_found": ("Aucun code d'installation de ce numéro.", "No such claim code."),
    "no_unused_codes": ("Aucun code non utilisé.", "No unused code."),
    "labels_title": ("Étiquettes à imprimer", "Labels to print"),
    "labels_lead": (
        "Imprimez cette page (Ctrl+P) sur une planche d'étiquettes ; chaque étiquette porte le "
        "code en QR et en clair. Une étiquette vaut un capteur : rangez-les comme des clés.",
        "Print this page (Ctrl+P) on a label sheet; each label has the code as a QR code and "
        "as text. A label is worth a device: keep them like keys.",
    ),
    "back_to_codes": ("Retour aux codes", "Back to the codes"),
    "no_labels": ("Aucun code non utilisé à imprimer.", "No unused code to print."),
}
