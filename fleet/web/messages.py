"""Every text of the web pages, in French then English (``{name}`` marks a value)."""

from __future__ import annotations

from fleet.web.messages_account import ACCOUNT_MESSAGES
from fleet.web.messages_admin import ADMIN_MESSAGES
from fleet.web.messages_claims import CLAIM_MESSAGES
from fleet.web.messages_indices import INDEX_MESSAGES
from fleet.web.messages_map import MAP_MESSAGES
from fleet.web.messages_ota import OTA_MESSAGES
from fleet.web.messages_trust import TRUST_MESSAGES

__all__ = ["MESSAGES"]

MESSAGES: dict[str, tuple[str, str]] = {
    # page frame
    "skip_to_content": ("Aller au contenu", "Skip to content"),
    "language": ("Langue", "Language"),
    "main_navigation": ("Navigation principale", "Main navigation"),
    "footer_text": (
        "Territoire — capteurs ouverts, au service des habitants",
        "Territoire — open sensors, serving the people who live here",
    ),
    "nav_overview": ("Vue d'ensemble", "Overview"),
    "nav_devices": ("Capteurs", "Devices"),
    "nav_gateways": ("Passerelles", "Gateways"),
    "nav_alerts": ("Alertes", "Alerts"),
    "nav_audit": ("Journal d'audit", "Audit log"),
    "nav_register": ("Registre des capteurs", "Sensor register"),
    "nav_open_data": ("Données ouvertes", "Open data"),
    "nav_operators": ("Espace exploitants", "Operators"),
    "log_out": ("Se déconnecter", "Log out"),
    "role_viewer": ("lecture", "viewer"),
    "role_operator": ("exploitant", "operator"),
    "role_admin": ("administrateur", "admin"),
    "go_back": ("Retour", "Go back"),
    "page_first": ("Première page", "First page"),
    "page_next": ("Page suivante", "Next page"),
    "yes": ("Oui", "Yes"),
    "no": ("Non", "No"),
    "any": ("Tous", "Any"),
    "show": ("Afficher", "Show"),
    "cancel": ("Annuler", "Cancel"),
    "none_yet": ("Aucun pour l'instant.", "None yet."),
    "apply_filters": ("Filtrer", "Apply filters"),
    "clear_filters": ("Effacer les filtres", "Clear filters"),
    "filters_invalid": ("Certains filtres sont invalides :", "Some filters are not valid:"),
    "invalid_value": ("{field} : valeur invalide", "{field}: invalid value"),
    # states
    "state_online": ("En ligne", "Online"),
    "state_offline": ("Hors ligne", "Offline"),
    "state_never_seen": ("Jamais vu", "Never seen"),
    "state_revoked": ("Révoqué", "Revoked"),
    "state_active": ("Actif", "Active"),
    "state_gw_pending": ("En attente d'enrôlement", "Waiting for enrollment"),
    "state_gw_active": ("Active", "Active"),
    "state_gw_revoked": ("Révoquée", "Revoked"),
    "state_reg_active": ("En service", "In service"),
    "state_reg_inactive": ("Inactif (pas de données récentes)", "Inactive (no recent data)"),
    "state_reg_removed": ("Retiré", "Removed"),
    # login
    "login_title": ("Connexion des exploitants", "Operator login"),
    "email": ("Adresse e-mail", "Email address"),
    "password": ("Mot de passe", "Password"),
    "log_in": ("Se connecter", "Log in"),
    "login_failed": (
        "Adresse ou mot de passe incorrect, ou compte verrouillé.",
        "Wrong email or password, or account locked.",
    ),
    "login_expired_form": (
        "Le formulaire a expiré : veuillez réessayer.",
        "The form expired: please try again.",
    ),
    "login_note": (
        "Le registre des capteurs et les données ouvertes sont accessibles sans compte.",
        "The sensor register and the open data need no account.",
    ),
    "logged_out": ("Vous êtes déconnecté.", "You are logged out."),
    # overview
    "overview_title": ("Vue d'ensemble du parc", "Fleet overview"),
    "live_hint": ("Chiffres au", "Figures as of"),
    "live_on": ("Mise à jour en direct active", "Live updates on"),
    "live_off": ("Mise à jour en direct interrompue", "Live updates paused"),
    "nodes_heading": ("Capteurs", "Devices"),
    "recent_alerts": ("Alertes récentes", "Recent alerts"),
    "all_alerts": ("Toutes les alertes", "All alerts"),
    "no_alerts": ("Aucune alerte.", "No alerts."),
    "by_zone": ("Par quartier", "By zone"),
    "by_zone_caption": ("Capteurs par quartier et par état", "Devices by zone and state"),
    "by_firmware": ("Par version du micrologiciel", "By firmware version"),
    "by_firmware_caption": (
        "Capteurs par version du micrologiciel et par état",
        "Devices by firmware version and state",
    ),
    "fw_none": ("(aucun rapport)", "(no report yet)"),
    # devices
    "devices_title": ("Capteurs", "Devices"),
    "device_filters": ("Filtrer les capteurs", "Filter devices"),
    "search": ("Rechercher", "Search"),
    "search_help": (
        "Une partie de l'identifiant ou du libellé.",
        "Part of the device id or label.",
    ),
    "zone": ("Quartier", "Zone"),
    "status": ("État", "Status"),
    "firmware": ("Micrologiciel", "Firmware"),
    "gateway": ("Passerelle", "Gateway"),
    "device": ("Capteur", "Device"),
    "label": ("Libellé", "Label"),
    "battery": ("Batterie", "Battery"),
    "last_seen": ("Dernier contact", "Last seen"),
    "unassigned": ("non affecté", "unassigned"),
    "devices_caption": ("Capteurs, par identifiant", "Devices, by id"),
    "after_id": ("après {id}", "after {id}"),
    "no_devices": ("Aucun capteur ne correspond.", "No device matches."),
    "devices_pages": ("Pages de la liste des capteurs", "Device list pages"),
    # device detail
    "device_title": ("Capteur {id}", "Device {id}"),
    "identity": ("Identité", "Identity"),
    "profile": ("Profil", "Profile"),
    "installed_on": ("Installé le", "Installed on"),
    "active_until": ("Actif jusqu'au", "Active until"),
    "installed_month": ("Installé en (mois)", "Installed in (month)"),
    "active_until_month": ("Actif jusqu'en (mois)", "Active until (month)"),
    "no_end_date": ("sans date de fin", "no end date"),
    "interval": ("Intervalle de mesure", "Measuring interval"),
    "interval_s": ("{n} s", "{n} s"),
    "interval_unknown": (
        "inconnu (la passerelle applique son intervalle par défaut)",
        "not known (the gateway applies its fallback interval)",
    ),
    "revoked_at": ("Révoqué le", "Revoked on"),
    "latest_health": ("Dernier état", "Latest health"),
    "rssi": ("Signal radio (RSSI)", "Radio signal (RSSI)"),
    "buffered": ("Mesures en attente", "Buffered readings"),
    "slot": ("emplacement", "slot"),
    "boots": ("Démarrages", "Boots"),
    "reported_by": ("Rapporté par", "Reported by"),
    "rejected": ("Messages rejetés", "Rejected messages"),
    "rejected_total": ("Rejets (cumul)", "Rejected (total)"),
    "never_reported": ("Ce capteur n'a encore rien envoyé.", "This device has not reported yet."),
    "no_alerts_node": ("Aucune alerte pour ce capteur.", "No alert for this device."),
    "health_history": ("Historique de santé", "Health history"),
    "history_note": (
        "Période affichée : {span}, un point par tranche de {bucket}.",
        "Period shown: {span}, one point per {bucket}.",
    ),
    "history_table": ("Voir les valeurs sous forme de tableau", "Show the values as a table"),
    "no_history": ("Pas encore d'historique.", "No history yet."),
    "time": ("Heure", "Time"),
    "chart_battery": ("Tension de la batterie (V)", "Battery voltage (V)"),
    "chart_rssi": ("Signal radio (dBm)", "Radio signal (dBm)"),
    "chart_buffered": ("Mesures en attente d'envoi", "Readings waiting to be sent"),
    "chart_summary": (
        "{title} : de {first} à {last}, minimum {lo}, maximum {hi}, dernière valeur {latest}.",
        "{title}: from {first} to {last}, minimum {lo}, maximum {hi}, latest value {latest}.",
    ),
    "keys": ("Clés", "Keys"),
    "key_line": ("Clé n° {id}", "Key #{id}"),
    "created": ("créée le", "created"),
    "expires": ("expire le", "expires"),
    "no_keys": ("Aucune clé (capteur révoqué).", "No key (device revoked)."),
    "actions": ("Actions", "Actions"),
    "revoke_node": ("Révoquer ce capteur", "Revoke this device"),
    "print_sign": ("Panneau pour la rue (PDF A5)", "Street sign (A5 PDF)"),
    "print_sign_hint": (
        "À poser sur le site : ce qui est mesuré, pourquoi, par qui, et un code QR vers le "
        "registre du quartier.",
        "To put up on site: what is measured, why, by whom, and a QR code to the zone's "
        "register.",
    ),
    "device_audit": ("Dernières modifications", "Latest changes"),
    "full_audit": ("Tout l'historique dans le journal d'audit", "Full history in the audit log"),
    "no_events": ("Aucun événement.", "No events."),
    # revoke
    "revoke_title": ("Révoquer le capteur {id}", "Revoke device {id}"),
    "revoke_explain": (
        "La révocation est définitive : les clés du capteur sont effacées, sa passerelle "
        "refusera ses messages dès sa prochaine synchronisation, et il apparaîtra comme retiré "
        "dans le registre public. Pour le remettre en service, il faudra le réinstaller avec "
        "un nouveau code.",
        "Revocation is final: the device's keys are deleted, its gateway refuses its messages "
        "from its next sync, and the public register shows it as removed. To bring it back it "
        "must be provisioned again with a new code.",
    ),
    "revoke_confirm_label": (
        "Pour confirmer, saisissez l'identifiant du capteur ({id})",
        "To confirm, type the device id ({id})",
    ),
    "revoke_confirm_help": (
        "Cette étape évite une révocation par erreur.",
        "This step prevents revoking by mistake.",
    ),
    "revoke_confirm_mismatch": (
        "L'identifiant saisi ne correspond pas.",
        "The id you typed does not match.",
    ),
    "revoked_flash": ("Le capteur {id} est révoqué.", "Device {id} is revoked."),
    # gateways
    "gateways_title": ("Passerelles", "Gateways"),
    "gateways_caption": (
        "Passerelles et état de leurs capteurs",
        "Gateways and the state of their devices",
    ),
    "gateways_pages": ("Pages de la liste des passerelles", "Gateway list pages"),
    "name": ("Nom", "Name"),
    "last_report": ("Dernier rapport", "Last report"),
    "enrolled_at": ("Enrôlée le", "Enrolled on"),
    "no_gateways": ("Aucune passerelle.", "No gateways."),
    # alerts
    "alerts_title": ("Alertes", "Alerts"),
    "alerts_intro": (
        "Les alertes sont calculées à partir de l'état de santé rapporté par les passerelles :",
        "Alerts are computed from the health the gateways report:",
    ),
    "rule_offline": (
        "hors ligne : aucun contact depuis plus de {minutes} minutes ;",
        "offline: not heard from for more than {minutes} minutes;",
    ),
    "rule_battery": ("batterie faible : sous {volts} ;", "low battery: below {volts};"),
    "rule_rejected": (
        "rejets en hausse (falsification possible) : au moins {n} messages rejetés en "
        "{minutes} minutes.",
        "rejected spike (possible tampering): at least {n} messages rejected within "
        "{minutes} minutes.",
    ),
    "rule_suspect": (
        "mesures suspectes : au moins {n} mesures d'un capteur écartées des chiffres publiés "
        "en {minutes} minutes (trop fréquentes, hors de la plage du capteur, variation "
        "impossible, valeur figée).",
        "suspect readings: at least {n} readings of a device kept out of the published "
        "figures within {minutes} minutes (too frequent, outside its sensor's range, "
        "impossible change, stuck value).",
    ),
    "alert_suspect": ("Mesures suspectes", "Suspect readings"),
    "alert_suspect_plural": (
        "Mesures suspectes (capteur défaillant ou manipulé)",
        "Suspect readings (faulty or manipulated device)",
    ),
    "detail_suspect": ("{n} mesures écartées", "{n} readings held back"),
    "alert_offline": ("Hors ligne", "Offline"),
    "alert_low_battery": ("Batterie faible", "Low battery"),
    "alert_rejected_spike": ("Rejets en hausse", "Rejected spike"),
    "alert_offline_plural": ("Capteurs hors ligne", "Offline devices"),
    "alert_low_battery_plural": ("Batteries faibles", "Low batteries"),
    "alert_rejected_spike_plural": (
        "Rejets en hausse (falsification possible)",
        "Rejected spikes (possible tampering)",
    ),
    "alert_refused_cells_plural": (
        "Cases refusées à une passerelle (bogue ou falsification)",
        "Cells refused from a gateway (bug or tampering)",
    ),
    "rule_refused_cells": (
        "cases refusées : une passerelle a envoyé une autre valeur pour une case déjà publiée, "
        "ou une case qui dépasserait le budget de confidentialité du quartier.",
        "refused cells: a gateway sent another value for a cell already published, or a cell "
        "that would exceed the zone's privacy budget.",
    ),
    "refused_budget_exceeded": ("budget du quartier dépassé", "zone budget exceeded"),
    "refused_conflicting_cell": ("autre valeur pour une case publiée", "conflicting cell value"),
    "detail_refused_cells": (
        "{n} cases refusées le {day} (dernière : {metric})",
        "{n} cells refused on {day} (last: {metric})",
    ),
    "detail_offline": ("silencieux depuis {duration}", "silent for {duration}"),
    "detail_low_battery": ("{volts}", "{volts}"),
    "detail_rejected_spike": ("{n} rejets récents", "{n} recent rejections"),
    "alerts_truncated": (
        "{shown} affichées sur {total}.",
        "{shown} shown out of {total}.",
    ),
    "see_all_offline": ("Voir tous les capteurs hors ligne", "See every offline device"),
    "duration_seconds": ("{n} s", "{n} s"),
    "duration_minutes": ("{n} min", "{n} min"),
    "duration_hours": ("{n} h", "{n} h"),
    "duration_days": ("{n} j", "{n} d"),
    # audit
    "audit_title": ("Journal d'audit", "Audit log"),
    "audit_filters": ("Filtrer le journal", "Filter the log"),
    "audit_caption": ("Modifications, les plus récentes d'abord", "Changes, newest first"),
    "audit_pages": ("Pages du journal d'audit", "Audit log pages"),
    "entity_type": ("Type d'objet", "Entity type"),
    "entity_id": ("Identifiant de l'objet", "Entity id"),
    "actor": ("Auteur", "Actor"),
    "actor_help": (
        "Par exemple operator:3, token:7, gateway:gw-a, system.",
        "For example operator:3, token:7, gateway:gw-a, system.",
    ),
    "action": ("Action", "Action"),
    "entity": ("Objet", "Entity"),
    "changes": ("Changements", "Changes"),
    # errors
    "error_forbidden": ("Accès refusé", "Access denied"),
    "error_role": (
        "Cette action demande le rôle « {role} ».",
        "This needs the “{role}” role.",
    ),
    "error_csrf": (
        "Le formulaire a expiré ou ne vient pas de ce site. Rechargez la page et recommencez.",
        "The form expired or did not come from this site. Reload the page and try again.",
    ),
    "error_not_found": ("Introuvable", "Not found"),
    "error_no_node": ("Ce capteur n'existe pas.", "This device does not exist."),
    "error_bad_request": ("Requête invalide", "Invalid request"),
    # public register
    "register_title": ("Registre public des capteurs", "Public sensor register"),
    "register_intro": (
        "Chaque capteur installé dans l'espace public : ce qu'il mesure, pourquoi, sur quelle "
        "base légale, qui l'exploite et comment le joindre, s'il traite des données "
        "personnelles et comment, où (à l'échelle du quartier) et pour combien de temps.",
        "Every sensor in public space: what it measures, why, on which legal basis, who runs "
        "it and how to reach them, whether it processes personal data and how, where (at the "
        "scale of a zone) and for how long.",
    ),
    "register_json": ("Les mêmes données en JSON :", "The same data as JSON:"),
    "register_filter": ("Filtrer le registre", "Filter the register"),
    "all_zones": ("Tous les quartiers", "All zones"),
    "sensors": ("Capteurs", "Sensors"),
    "register_empty": ("Aucun capteur.", "No sensors."),
    "register_pages": ("Pages du registre", "Register pages"),
    "register_pseudonym_note": (
        "Les capteurs apparaissent sous un pseudonyme qui change chaque jour, dans un ordre qui "
        "change chaque jour, avec des dates au mois près : rien ne relie l'entrée d'un jour à "
        "celle du lendemain. Leur emplacement exact n'est jamais publié.",
        "Sensors appear under a pseudonym that changes every day, in an order that changes "
        "every day, with dates to the month: nothing links one day's entry to the next day's. "
        "Their exact location is never published.",
    ),
    "register_one_type": (
        "Seulement les capteurs « {type} » de ce quartier.",
        "Only the “{type}” sensors of this zone.",
    ),
    "register_every_type": ("Voir tous les types", "Show every type"),
    "register_sign_note": (
        "Vous venez d'un panneau dans la rue ? Le capteur qu'il annonce est l'un de ceux-ci : "
        "ouvrez une entrée pour poser une question ou signaler un problème, sans compte.",
        "Did you come from a sign in the street? The sensor it announces is one of these: open "
        "an entry to ask a question or report a problem, no account needed.",
    ),
    "reg_id": ("Pseudonyme", "Pseudonym"),
    "reg_measures": ("Mesure", "Measures"),
    "reg_purpose": ("Finalité", "Purpose"),
    "reg_legal_basis": ("Base légale", "Legal basis"),
    "reg_operator": ("Exploitant", "Operator"),
    "reg_contact": ("Contact", "Contact"),
    "reg_personal_data": ("Données personnelles", "Personal data"),
    "reg_retention": ("Conservation", "Retention"),
    # open data
    "opendata_title": ("Données ouvertes", "Open data"),
    "opendata_intro": (
        "Les mesures publiées sont des statistiques par quartier et par période, libres de "
        "réutilisation. Elles sont disponibles en CSV et au format NGSI-LD des modèles FIWARE "
        "Smart Data Models.",
        "Published measurements are statistics per zone and per period, free to reuse. They "
        "come as CSV and as NGSI-LD entities of the FIWARE Smart Data Models.",
    ),
    "downloads": ("Téléchargements", "Downloads"),
    "download_csv_all": ("Toutes les données (CSV)", "All data (CSV)"),
    "download_ngsi_all": ("Toutes les données (NGSI-LD)", "All data (NGSI-LD)"),
    "download_filtered": ("Choisir un extrait", "Choose an extract"),
    "metric": ("Mesure", "Measurement"),
    "all_metrics": ("Toutes les mesures", "All measurements"),
    "from_date": ("Du", "From"),
    "to_date": ("Au (inclus)", "To (inclusive)"),
    "dates_help": ("Dates en temps universel (UTC), facultatives.", "UTC dates, optional."),
    "format": ("Format", "Format"),
    "download": ("Télécharger", "Download"),
    "latest_window": ("Dernière période publiée :", "Latest published period:"),
    "nothing_published": ("Rien n'est encore publié.", "Nothing is published yet."),
    "privacy_title": ("Ce que nous garantissons", "What we guarantee"),
    "privacy_street": (
        "Rien de personnel ne quitte la rue : les capteurs calculent eux-mêmes leurs "
        "indicateurs (un niveau sonore, un nombre de passages) ; aucun son, aucune image, aucun "
        "identifiant de téléphone n'est transmis ni enregistré.",
        "Nothing personal leaves the street: sensors compute their indicators themselves (a "
        "sound level, a number of people passing); no sound, no image, no phone identifier is "
        "ever sent or stored.",
    ),
    "privacy_k": (
        "Chaque case publiée (un quartier, une mesure, une période) provient d'au moins {k} "
        "capteurs différents ; sinon elle n'est pas publiée.",
        "Each published cell (a zone, a measurement, a period) comes from at least {k} "
        "different sensors; otherwise it is not published.",
    ),
    "privacy_people": (
        "Un nombre de personnes n'est publié qu'à partir de {k}.",
        "A number of people is published only from {k} upward.",
    ),
    "privacy_dp": (
        "Les nombres publiés sont légèrement brouillés (confidentialité différentielle), avec "
        "un budget de confidentialité par quartier et par jour de ε = {eps} ; on ne peut pas en "
        "déduire la présence d'une personne.",
        "Published counts carry calibrated random noise (differential privacy) under a privacy "
        "budget of ε = {eps} per zone and per day, so no one can tell whether a given person "
        "was there.",
    ),
    "privacy_zone": (
        "Les lieux sont généralisés au quartier (son centre), jamais l'adresse d'un capteur.",
        "Places are generalised to the zone (its centre), never a sensor's address.",
    ),
    "privacy_retention": (
        "Les relevés bruts sont effacés des passerelles au bout de {hours} heures et ne les "
        "quittent jamais.",
        "Raw readings are deleted from the gateways after {hours} hours and never leave them.",
    ),
    "privacy_more": (
        "Les règles complètes sont décrites dans la documentation du projet (docs/privacy.md).",
        "The full rules are in the project's documentation (docs/privacy.md).",
    ),
    "what_is_published": ("Ce qui est publié", "What is published"),
    "metrics_caption": (
        "Mesures publiées, unités et modèles NGSI-LD",
        "Published measurements, units and NGSI-LD models",
    ),
    "key": ("Clé", "Key"),
    "unit": ("Unité", "Unit"),
    "ngsi_model": ("Modèle NGSI-LD", "NGSI-LD model"),
    "csv_only": ("CSV uniquement", "CSV only"),
    "formats_note": (
        "Dans le NGSI-LD, l'humidité relative est une fraction entre 0 et 1 ; le nombre de "
        "relevés et les statistiques sont des sous-propriétés de chaque mesure. Les cases "
        "supprimées n'apparaissent que dans le CSV, marquées comme telles et sans valeur.",
        "In NGSI-LD, relative humidity is a fraction between 0 and 1; the number of readings "
        "and the statistics are sub-properties of each measurement. Suppressed cells appear "
        "in the CSV only, marked as such and without a value.",
    ),
    "no_centroid_note": (
        "Quartiers sans centre connu, présents dans le CSV seulement :",
        "Zones without a known centre, in the CSV only:",
    ),
}

MESSAGES.update(OTA_MESSAGES)
MESSAGES.update(CLAIM_MESSAGES)
MESSAGES.update(ADMIN_MESSAGES)
MESSAGES.update(ACCOUNT_MESSAGES)
MESSAGES.update(MAP_MESSAGES)
MESSAGES.update(INDEX_MESSAGES)
MESSAGES.update(TRUST_MESSAGES)
