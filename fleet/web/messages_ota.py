"""Texts of the update pages (releases, rollouts), in French then English."""

from __future__ import annotations

__all__ = ["OTA_MESSAGES"]

OTA_MESSAGES: dict[str, tuple[str, str]] = {
    "nav_rollouts": ("Mises à jour", "Updates"),
    "rollouts_title": ("Déploiements de micrologiciel", "Firmware rollouts"),
    "rollouts_lead": (
        "Chaque déploiement propose une version signée aux capteurs, groupe après groupe ; "
        "il se met en pause de lui-même si trop de capteurs échouent.",
        "Each rollout offers a signed release to the devices, group after group; it pauses "
        "by itself when too many devices fail.",
    ),
    "rollouts_caption": ("Déploiements, du plus récent au plus ancien", "Rollouts, newest first"),
    "rollout": ("Déploiement", "Rollout"),
    "rollout_title": ("Déploiement n° {id}", "Rollout #{id}"),
    "rollout_not_found": ("Aucun déploiement n° {id}.", "No rollout #{id}."),
    "release": ("Version", "Release"),
    "rollout_progress": ("Avancement", "Progress"),
    "confirmed_of": ("{n} confirmés sur {total}", "{n} of {total} confirmed"),
    "started_at": ("Lancé le", "Started"),
    "no_rollouts": ("Aucun déploiement pour l'instant.", "No rollout yet."),
    "releases_title": ("Versions publiées", "Published releases"),
    "releases_caption": (
        "Versions signées, vérifiées à la publication",
        "Signed releases, verified when published",
    ),
    "hardware": ("Matériel", "Hardware"),
    "secure_version": ("Version de sécurité", "Secure version"),
    "signed_by": ("Clé de signature", "Signing key"),
    "expires_at": ("Expire le", "Expires"),
    "published_by": ("Publiée par", "Published by"),
    "no_releases": ("Aucune version publiée.", "No release published."),
    "release_keys_title": ("Clés de publication enregistrées", "Registered release keys"),
    "key_revoked": ("révoquée le", "revoked on"),
    "release_key_not_found": ("Aucune clé de publication de ce nom.", "No such release key."),
    "revoke_key": ("Révoquer", "Revoke"),
    "revoke_key_label": ("Révoquer la clé {kid}", "Revoke key {kid}"),
    "add_key_title": ("Enregistrer une clé de publication", "Register a release key"),
    "key_name": ("Nom de la clé", "Key name"),
    "key_pem": ("Clé publique (PEM)", "Public key (PEM)"),
    "key_pem_help": (
        "Le fichier .pub.pem produit par « territoire release keygen » (RSA-3072). "
        "Jamais la clé privée.",
        "The .pub.pem file made by “territoire release keygen” (RSA-3072). Never the private key.",
    ),
    "key_name_needed": ("Donnez un nom à la clé.", "Give the key a name."),
    "key_refused": ("Clé refusée : {detail}", "Key refused: {detail}"),
    "add_key": ("Enregistrer la clé", "Register the key"),
    "key_added_flash": ("Clé de publication enregistrée.", "Release key registered."),
    "key_revoked_flash": ("Clé de publication révoquée.", "Release key revoked."),
    "no_release_keys": ("Aucune clé enregistrée.", "No key registered."),
    "state_ro_running": ("En cours", "Running"),
    "state_ro_paused": ("En pause", "Paused"),
    "state_ro_aborted": ("Abandonné", "Aborted"),
    "state_ro_completed": ("Terminé", "Completed"),
    "paused_reason": ("Raison de la pause", "Why paused"),
    "why_operator": ("mise en pause par un exploitant", "paused by an operator"),
    "why_error_threshold": (
        "seuil d'erreurs dépassé dans le groupe {group}",
        "error threshold exceeded in group {group}",
    ),
    "maintenance_window": ("Fenêtre de maintenance", "Maintenance window"),
    "window_open": ("ouverte maintenant", "open now"),
    "window_closed": ("fermée maintenant", "closed now"),
    "window_always": ("à toute heure", "any time"),
    "rollout_nodes": ("Capteurs", "Devices"),
    "offered_now": ("Proposée maintenant à", "Offered now to"),
    "action_pause": ("Mettre en pause", "Pause"),
    "action_resume": ("Reprendre", "Resume"),
    "action_abort": ("Abandonner", "Abort"),
    "rollout_done_pause": ("Déploiement mis en pause.", "Rollout paused."),
    "rollout_done_resume": ("Déploiement repris.", "Rollout resumed."),
    "rollout_done_abort": ("Déploiement abandonné.", "Rollout aborted."),
    "action_abort_ask": ("Abandonner…", "Abort…"),
    "abort_title": ("Abandonner le déploiement n° {id} ?", "Abort rollout #{id}?"),
    "abort_explain": (
        "L'abandon est définitif : plus aucun capteur ne recevra la version {version} par ce "
        "déploiement, et il ne pourra pas être repris. Les capteurs qui l'ont déjà installée "
        "la gardent ; ceux en période d'essai la terminent d'eux-mêmes ; les autres restent "
        "sur leur version et pourront entrer dans un nouveau déploiement.",
        "Aborting is final: no device will get version {version} from this rollout any more, "
        "and it cannot be resumed. Devices that already installed it keep it; those on trial "
        "finish their trial by themselves; the others stay on their version and can join a "
        "new rollout.",
    ),
    "abort_progress": (
        "Aujourd'hui : {confirmed} capteurs confirmés sur {total}, {busy} en cours de mise à "
        "jour, {failed} en échec.",
        "Now: {confirmed} of {total} devices confirmed, {busy} updating, {failed} failed.",
    ),
    "abort_confirm": ("Abandonner définitivement", "Abort for good"),
    "rollout_aborted_note": (
        "Ce déploiement est abandonné : plus aucun capteur ne reçoit la version {version} par "
        "lui. Les capteurs qui l'ont installée la gardent.",
        "This rollout is aborted: no device gets version {version} from it any more. Devices "
        "that installed it keep it.",
    ),
    "aborted_at": ("Abandonné le", "Aborted"),
    "rollout_conflict_title": ("Action impossible", "Action not possible"),
    "rollout_conflict": (
        "« {action} » n'est pas possible dans l'état actuel du déploiement.",
        "“{action}” is not possible in the rollout's current state.",
    ),
    "rollout_live_hint": (
        "Cette page se met à jour d'elle-même.",
        "This page updates itself.",
    ),
    "rollout_groups": ("Avancement par groupe", "Progress per group"),
    "rollout_groups_caption": (
        "Un groupe s'ouvre quand le précédent atteint son seuil de succès",
        "A group opens when the one before reaches its success threshold",
    ),
    "group": ("Groupe", "Group"),
    "group_n": ("Groupe {n}", "Group {n}"),
    "group_state": ("État", "State"),
    "group_open": ("ouvert", "open"),
    "group_waiting": ("en attente", "waiting"),
    "group_progress_label": ("Capteurs confirmés du groupe {n}", "Confirmed devices of group {n}"),
    "thresholds": ("Seuils", "Thresholds"),
    "threshold_text": (
        "succès {success} %, erreurs {error} %",
        "success {success} %, errors {error} %",
    ),
    "out_confirmed": ("Confirmés", "Confirmed"),
    "out_trial": ("En essai", "On trial"),
    "out_in_progress": ("En cours", "In progress"),
    "out_failed": ("Échecs", "Failed"),
    "out_pending": ("En attente", "Pending"),
    "state_out_confirmed": ("Confirmé", "Confirmed"),
    "state_out_trial": ("En essai", "On trial"),
    "state_out_in_progress": ("En cours", "In progress"),
    "state_out_failed": ("Échec", "Failed"),
    "state_out_pending": ("En attente", "Pending"),
    "rollout_per_node": ("Avancement par capteur", "Progress per device"),
    "rollout_per_node_caption": (
        "La version affichée est celle que le capteur déclare exécuter",
        "The version shown is the one the device reports running",
    ),
    "running_reported": ("Version exécutée (déclarée)", "Running version (reported)"),
    "last_ota_status": ("Dernier état de mise à jour", "Last update status"),
    "late_joiner": ("arrivé en cours", "joined later"),
    "no_rollout_nodes": ("Aucun capteur ciblé.", "No device targeted."),
    "not_eligible": ("Non éligibles", "Not eligible"),
    "not_eligible_lead": (
        "Capteurs visés par le déploiement mais d'un autre matériel que celui de la version : "
        "elle ne leur est pas proposée et ils ne comptent pas comme des échecs.",
        "Devices the rollout targets but of another hardware than the release's: it is not "
        "offered to them, and they do not count as failures.",
    ),
    "not_eligible_caption": (
        "Capteurs non éligibles et pourquoi", "Devices not eligible, and why",
    ),
    "eligibility_reason": ("Raison", "Reason"),
    "reported_hw": ("Matériel déclaré", "Reported hardware"),
    "why_not_eligible_hardware": (
        "matériel {hw}, version pour {release_hw}", "hardware {hw}, release for {release_hw}",
    ),
    "st_downloading": ("téléchargement", "downloading"),
    "st_switching": ("bascule en essai", "switching to trial"),
    "st_confirmed": ("confirmé", "confirmed"),
    "st_rolled_back": ("revenu à l'ancienne version", "rolled back"),
    "st_refused": ("refusé", "refused"),
}
