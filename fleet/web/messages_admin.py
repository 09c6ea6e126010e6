"""Texts of the registry and administration pages (zones, sensor profiles, gateway changes,
API tokens), in French then English."""

from __future__ import annotations

__all__ = ["ADMIN_MESSAGES"]

ADMIN_MESSAGES: dict[str, tuple[str, str]] = {
    "nav_zones": ("Zones", "Zones"),
    "nav_profiles": ("Profils", "Profiles"),
    "nav_tokens": ("Jetons d'API", "API tokens"),
    # errors of a form field (the fleet's own models check the values)
    "err_required": ("Obligatoire.", "Required."),
    "err_too_short": (
        "Trop court : au moins {min} caractères.", "Too short: at least {min} characters."),
    "err_too_long": (
        "Trop long : au plus {max} caractères.", "Too long: at most {max} characters."),
    "err_slug": (
        "De 3 à 32 caractères parmi a-z, 0-9 et « - », sans « - » au début.",
        "3 to 32 characters of a-z, 0-9 and \"-\", not starting with \"-\".",
    ),
    "err_number": ("Un nombre entier entre {lo} et {hi}.", "A whole number from {lo} to {hi}."),
    "err_exists": ("Cet identifiant existe déjà.", "This id already exists."),
    "err_invalid": ("Valeur refusée : {detail}", "Value refused: {detail}"),
    "form_has_errors": (
        "Rien n'est enregistré : corrigez les champs signalés.",
        "Nothing saved: correct the fields marked below.",
    ),
    # zones
    "zones_title": ("Zones", "Zones"),
    "zones_lead": (
        "Les zones (quartiers) situent les capteurs sans jamais donner leur position : le "
        "registre et les données ouvertes publient par zone, au centroïde.",
        "Zones (districts) place the devices without ever giving their position: the register "
        "and open data publish by zone, at its centroid.",
    ),
    "zones_list_title": ("Zones du territoire", "The territory's zones"),
    "zones_caption": ("Une ligne par zone, par identifiant", "One row a zone, by id"),
    "zone_id": ("Identifiant", "Id"),
    "centroid": ("Centroïde (lat, lon)", "Centroid (lat, lon)"),
    "outline": ("Contour", "Outline"),
    "outline_polygons": ("{n} polygone(s)", "{n} polygon(s)"),
    "no_outline": ("Aucun", "None"),
    "no_zones": ("Aucune zone.", "No zone."),
    "import_zones_title": ("Importer des zones (GeoJSON)", "Import zones (GeoJSON)"),
    "import_zones_help": (
        "Une FeatureCollection GeoJSON (8 Mio, 500 zones au plus) : pour chaque zone "
        "properties.id, properties.name et un contour Polygon ou MultiPolygon (WGS84). Une zone "
        "qui existe est mise à jour, les autres sont créées. Un fichier refusé n'importe rien.",
        "A GeoJSON FeatureCollection (8 MiB, 500 zones at most): for each zone properties.id, "
        "properties.name and a Polygon or MultiPolygon outline (WGS84). A zone that exists is "
        "updated, the others are created. A refused file imports nothing.",
    ),
    "zones_file": ("Fichier GeoJSON", "GeoJSON file"),
    "check_zones": ("Vérifier sans importer", "Check without importing"),
    "import_zones": ("Importer", "Import"),
    "zones_refused": ("Rien n'est importé : {detail}", "Nothing imported: {detail}"),
    "zones_no_file": ("choisissez un fichier GeoJSON.", "choose a GeoJSON file."),
    "zones_too_large": ("le fichier dépasse {mib} Mio.", "the file is larger than {mib} MiB."),
    "zones_not_utf8": ("le fichier n'est pas du texte UTF-8.", "the file is not UTF-8 text."),
    "zones_not_json": ("le fichier n'est pas du JSON ({detail}).",
                       "the file is not JSON ({detail})."),
    "zones_preview_title": ("Aperçu : rien n'est encore importé", "Preview: nothing imported yet"),
    "zones_preview_lead": (
        "Voici ce que l'import ferait. Pour importer, choisissez à nouveau le fichier et "
        "cliquez sur « Importer ».",
        "This is what the import would do. To import, choose the file again and click "
        "\"Import\".",
    ),
    "zones_done_title": ("Import terminé", "Import done"),
    "zones_outcome_caption": ("{n} zone(s) du fichier", "{n} zone(s) of the file"),
    "zone_outcome": ("Résultat", "Outcome"),
    "zone_created": ("créée", "created"),
    "zone_updated": ("mise à jour", "updated"),
    "zone_unchanged": ("inchangée", "unchanged"),
    "zone_would_created": ("serait créée", "would be created"),
    "zone_would_updated": ("serait mise à jour", "would be updated"),
    "zone_would_unchanged": ("inchangée", "unchanged"),
    # sensor profiles
    "profiles_title": ("Profils de capteurs", "Sensor profiles"),
    "profiles_lead": (
        "Un profil dit ce qu'un type de capteur mesure et pourquoi : ce sont les champs du "
        "registre public des capteurs.",
        "A profile says what a kind of device measures and why: these are the fields of the "
        "public sensor register.",
    ),
    "profiles_caption": ("Profils, par identifiant", "Profiles, by id"),
    "no_profiles": ("Aucun profil.", "No profile."),
    "new_profile": ("Nouveau profil", "New profile"),
    "edit_profile": ("Modifier", "Edit"),
    "edit_profile_label": ("Modifier le profil {id}", "Edit profile {id}"),
    "new_profile_title": ("Nouveau profil de capteur", "New sensor profile"),
    "edit_profile_title": ("Modifier le profil {id}", "Edit profile {id}"),
    "profile_id_help": (
        "Ne change plus ensuite ; les codes d'installation le citent, ex. « air-interieur ».",
        "Cannot change later; claim codes name it, e.g. \"indoor-air\".",
    ),
    "pf_id": ("Identifiant", "Id"),
    "pf_name": ("Nom", "Name"),
    "pf_measures": ("Mesures", "Measures"),
    "pf_purpose": ("Finalité", "Purpose"),
    "pf_legal_basis": ("Base légale", "Legal basis"),
    "pf_operator_name": ("Exploitant", "Operator"),
    "pf_contact": ("Contact", "Contact"),
    "pf_personal_data": ("Traite des données personnelles", "Processes personal data"),
    "pf_personal_data_processing": (
        "Traitement des données personnelles", "How personal data is processed"),
    "pf_retention": ("Durée de conservation", "Retention"),
    "save_profile": ("Enregistrer le profil", "Save the profile"),
    "profile_saved_flash": ("Profil {id} enregistré.", "Profile {id} saved."),
    "profile_not_found": ("Aucun profil de cet identifiant.", "No such profile."),
    # gateways (admin)
    "create_gateway_title": ("Nouvelle passerelle", "New gateway"),
    "gw_id": ("Identifiant", "Id"),
    "gw_id_help": ("Ex. « gw-centre » : 3 à 32 caractères a-z, 0-9, « - ».",
                   "E.g. \"gw-centre\": 3 to 32 characters a-z, 0-9, \"-\"."),
    "gw_name": ("Nom", "Name"),
    "gw_description": (
        "Description (lieu, responsable)", "Description (place, who looks after it)"),
    "create_gateway": ("Créer la passerelle", "Create the gateway"),
    "new_enroll_token": ("Nouveau jeton d'enrôlement", "New enrollment token"),
    "new_enroll_token_label": ("Nouveau jeton d'enrôlement pour {id}",
                               "New enrollment token for {id}"),
    "revoke_gateway": ("Révoquer", "Revoke"),
    "revoke_gateway_label": ("Révoquer la passerelle {id}", "Revoke gateway {id}"),
    "enroll_token_title": ("Jeton d'enrôlement de {id}", "Enrollment token of {id}"),
    "enroll_token_once": (
        "Ce jeton n'est affiché qu'une fois, valable jusqu'au {until}, pour un seul enrôlement. "
        "Copiez-le maintenant ; perdu, demandez-en un nouveau.",
        "This token is shown this once, valid until {until}, for one enrollment. Copy it now; "
        "if lost, ask for a new one.",
    ),
    "enroll_token": ("Jeton", "Token"),
    "enroll_command": ("Sur la passerelle, lancez :", "On the gateway, run:"),
    "back_to_gateways": ("Retour aux passerelles", "Back to the gateways"),
    "gateway_refused": ("Passerelle non créée : {detail}", "Gateway not created: {detail}"),
    "gateway_not_found": ("Aucune passerelle de cet identifiant.", "No such gateway."),
    "gateway_is_revoked": ("Cette passerelle est révoquée.", "This gateway is revoked."),
    "revoke_gateway_title": ("Révoquer la passerelle {id}", "Revoke gateway {id}"),
    "revoke_gateway_explain": (
        "Une passerelle révoquée est refusée par le parc à chaque appel, pour toujours. Ses "
        "capteurs restent rattachés : elle détenait leurs secrets, renouvelez leurs clés.",
        "A revoked gateway is refused by the fleet on every call, for good. Its devices stay "
        "assigned: it held their secrets, rotate their keys.",
    ),
    "revoke_gateway_confirm_label": (
        "Pour confirmer, saisissez l'identifiant de la passerelle ({id})",
        "To confirm, type the gateway's id ({id})",
    ),
    "revoke_gateway_mismatch": (
        "L'identifiant saisi ne correspond pas : rien n'est révoqué.",
        "The id typed does not match: nothing revoked.",
    ),
    "gateway_revoked_flash": ("La passerelle {id} est révoquée.", "Gateway {id} is revoked."),
    # API tokens
    "tokens_title": ("Jetons d'API", "API tokens"),
    "tokens_lead": (
        "Un jeton d'API donne accès au parc à la commande « territoire » ou à un script, avec "
        "un rôle au plus égal à celui de son titulaire. Révoquez ceux qui ne servent plus.",
        "An API token gives the \"territoire\" command or a script access to the fleet, with a "
        "role no higher than its owner's. Revoke those no longer used.",
    ),
    "tokens_of": ("Jetons de", "Tokens of"),
    "tokens_caption": ("Jetons de {who}, du plus ancien au plus récent",
                       "Tokens of {who}, oldest first"),
    "token_id": ("N°", "No."),
    "token_name": ("Nom", "Name"),
    "token_created_at": ("Créé le", "Created"),
    "token_expires_at": ("Expire le", "Expires"),
    "token_role": ("Rôle", "Role"),
    "token_prefix": ("Commence par", "Starts with"),
    "token_ttl_days": ("Validité (jours)", "Valid for (days)"),
    "token_ttl_help": ("Vide : {default} jours ; au plus {max}.",
                       "Empty: {default} days; at most {max}."),
    "token_state": ("État", "State"),
    "token_active": ("actif", "active"),
    "token_expired": ("expiré", "expired"),
    "token_revoked": ("révoqué le {when}", "revoked on {when}"),
    "no_tokens": ("Aucun jeton.", "No token."),
    "create_token_title": ("Nouveau jeton", "New token"),
    "create_token": ("Créer le jeton", "Create the token"),
    "token_refused": ("Jeton non créé : {detail}", "No token created: {detail}"),
    "revoke_token": ("Révoquer", "Revoke"),
    "revoke_token_label": ("Révoquer le jeton n° {id}", "Revoke token #{id}"),
    "token_revoked_flash": ("Jeton révoqué.", "Token revoked."),
    "token_not_found": ("Aucun jeton de ce numéro.", "No such token."),
    "operator_not_found": ("Aucun exploitant de ce numéro.", "No such operator."),
    "token_created_title": ("Jeton « {name} »", "Token \"{name}\""),
    "token_once": (
        "Ce jeton n'est affiché qu'une fois, valable jusqu'au {until}. Gardez-le comme un mot "
        "de passe.",
        "This token is shown this once, valid until {until}. Keep it like a password.",
    ),
    "token_use": ("Pour la commande territoire :", "For the territoire command:"),
    "back_to_tokens": ("Retour aux jetons", "Back to the tokens"),
}
