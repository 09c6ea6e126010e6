"""Texts of the public records of trust (privacy report, release log) and of residents'
questions, in French then English. Keys start with ``trust_`` or ``qa_``."""

from __future__ import annotations

__all__ = ["TRUST_MESSAGES"]

TRUST_MESSAGES: dict[str, tuple[str, str]] = {
    "trust_nav_privacy": ("Vie privée", "Privacy"),
    "trust_nav_releases": ("Logiciel des capteurs", "Sensor software"),
    "trust_map_register": ("Capteurs de {zone} au registre", "Sensors of {zone} in the register"),
    "trust_json": ("Les mêmes données en JSON :", "The same data as JSON:"),
    # privacy report
    "trust_privacy_title": ("Rapport de confidentialité", "Privacy report"),
    "trust_privacy_intro": (
        "Les comptages de personnes ne sont publiés qu'avec un bruit aléatoire : on ne peut pas "
        "savoir si une personne donnée était là. Chaque quartier dispose d'un budget de "
        "confidentialité (epsilon) par jour, toutes passerelles confondues ; chaque chiffre "
        "publié en dépense une part, et le système refuse tout chiffre qui le dépasserait. Plus "
        "la dépense est faible, mieux chacun est protégé.",
        "People counts are only published with random noise added: no one can tell whether a "
        "given person was there. Each zone has a privacy budget (epsilon) per day, all gateways "
        "together; every published figure spends part of it, and the system refuses any "
        "figure that would exceed it. The smaller the spend, the better everyone is protected.",
    ),
    "trust_privacy_filter": ("Filtrer le rapport", "Filter the report"),
    "trust_privacy_day_label": ("Jour", "Day"),
    "trust_privacy_empty": ("Aucune journée à rapporter.", "No day to report."),
    "trust_privacy_pages": ("Pages du rapport", "Report pages"),
    "trust_privacy_day": ("{zone}, le {day}", "{zone}, {day}"),
    "trust_privacy_spent": (
        "Budget dépensé : {spent} sur {budget} ({percent} %).",
        "Budget spent: {spent} of {budget} ({percent}%).",
    ),
    "trust_privacy_published": (
        "{n} chiffre(s) publié(s).",
        "{n} figure(s) published.",
    ),
    "trust_privacy_suppressed": (
        "{n} chiffre(s) retenu(s) sans être publié(s) :",
        "{n} figure(s) withheld, not published:",
    ),
    "trust_privacy_refused": (
        "{n} chiffre(s) envoyé(s) par une passerelle et refusé(s) par le système :",
        "{n} figure(s) sent by a gateway and refused by the system:",
    ),
    "trust_privacy_none_withheld": ("Aucun chiffre retenu.", "No figure withheld."),
    "trust_privacy_none_refused": ("Aucun chiffre refusé.", "No figure refused."),
    "trust_reason_too_few_nodes": (
        "{n} parce que moins de trois capteurs y contribuaient",
        "{n} because fewer than three sensors contributed",
    ),
    "trust_reason_below_threshold": (
        "{n} parce que le comptage était trop petit pour être publié sans risque",
        "{n} because the count was too small to publish safely",
    ),
    "trust_reason_budget_exhausted": (
        "{n} parce que le budget du jour était épuisé",
        "{n} because the day's budget was spent",
    ),
    "trust_reason_budget_exceeded": (
        "{n} parce qu'ils auraient dépassé le budget du jour",
        "{n} because they would have exceeded the day's budget",
    ),
    "trust_reason_conflicting_cell": (
        "{n} parce qu'un autre chiffre avait déjà été publié pour la même case",
        "{n} because another figure was already published for the same cell",
    ),
    "trust_privacy_timezone": (
        "Les journées sont comptées dans le fuseau {tz}.",
        "Days are counted in the {tz} time zone.",
    ),
    # release log
    "trust_releases_title": ("Journal des versions du logiciel", "Firmware release log"),
    "trust_releases_intro": (
        "Chaque version du logiciel des capteurs jamais publiée. Une version est signée hors "
        "ligne par une clé de publication ; un capteur ne l'installe que si la signature et "
        "l'empreinte SHA-256 de chaque fichier correspondent. Les notes sont écrites par "
        "l'équipe au moment de la publication.",
        "Every version of the sensors' software ever published. A release is signed offline "
        "by a release key; a sensor installs it only if the signature and every file's "
        "SHA-256 match. The notes are written by the team at release time.",
    ),
    "trust_releases_empty": ("Aucune version publiée.", "No release published."),
    "trust_releases_pages": ("Pages du journal", "Log pages"),
    "trust_release_heading": ("Version {version} ({hardware})", "Version {version} ({hardware})"),
    "trust_release_published": ("Publiée le", "Published on"),
    "trust_release_built": ("Construite le", "Built on"),
    "trust_release_notes": ("Ce qui change", "What changes"),
    "trust_release_no_notes": ("Pas de notes pour cette version.", "No notes for this release."),
    "trust_release_key": ("Clé de signature", "Signing key"),
    "trust_release_fingerprint": ("Empreinte de la clé (SHA-256)", "Key fingerprint (SHA-256)"),
    "trust_release_bundle": ("Paquet (.tar), SHA-256", "Bundle (.tar), SHA-256"),
    "trust_release_manifest": ("Manifeste signé, SHA-256", "Signed manifest, SHA-256"),
    "trust_release_size": ("Taille", "Size"),
    "trust_release_files": ("Fichiers de la version {version}", "Files of release {version}"),
    "trust_file_path": ("Fichier", "File"),
    "trust_file_size": ("Octets", "Bytes"),
    "trust_unknown": ("inconnu", "unknown"),
    "trust_rollouts": ("Déploiements", "Rollouts"),
    "trust_no_rollout": ("Pas encore déployée.", "Not rolled out yet."),
    "trust_rollout_caption": (
        "Déploiement n° {id} ({status}), commencé le {date}",
        "Rollout {id} ({status}), started {date}",
    ),
    "trust_rollout_running": ("Mis à jour", "Updated"),
    "trust_rollout_failed": ("Échec", "Failed"),
    "trust_rollout_waiting": ("En attente", "Waiting"),
    "trust_rollout_sensors": ("Capteurs", "Sensors"),
    "trust_rollout_running_st": ("en cours", "running"),
    "trust_rollout_paused_st": ("en pause", "paused"),
    "trust_rollout_aborted_st": ("arrêté", "aborted"),
    "trust_rollout_completed_st": ("terminé", "completed"),
    "trust_check_title": ("Vérifier un paquet soi-même", "Check a bundle yourself"),
    "trust_check_intro": (
        "Avec le fichier .tar d'une version, ces commandes doivent afficher les empreintes "
        "ci-dessus ; la deuxième vérifie un fichier du paquet (remplacez le chemin) :",
        "With a release's .tar file, these commands must print the hashes above; the second "
        "checks one file of the bundle (replace the path):",
    ),
    "trust_check_key": (
        "L'empreinte d'une clé publique de publication se vérifie ainsi :",
        "A release public key's fingerprint is checked with:",
    ),
    # questions, public side
    "qa_entry_title": ("Capteur {id}", "Sensor {id}"),
    "qa_entry_link": ("Fiche, questions et réponses", "Details, questions and answers"),
    "qa_entry_intro": (
        "Ce pseudonyme change chaque jour ; il reste consultable quelques jours.",
        "This pseudonym changes every day; it can be looked up for a few days.",
    ),
    "qa_answers_title": ("Questions et réponses", "Questions and answers"),
    "qa_answers_scope": (
        "Les réponses publiées concernent tous les capteurs « {type} » du quartier {zone}, "
        "pas un capteur en particulier.",
        "Published answers are about every “{type}” sensor of {zone}, not one sensor in "
        "particular.",
    ),
    "qa_no_answers": ("Aucune réponse publiée pour l'instant.", "No answer published yet."),
    "qa_question": ("Question", "Question"),
    "qa_problem": ("Problème signalé", "Problem reported"),
    "qa_answer": ("Réponse", "Answer"),
    "qa_published_on": ("publiée le {date}", "published {date}"),
    "qa_form_title": (
        "Poser une question ou signaler un problème",
        "Ask a question or report a problem",
    ),
    "qa_form_intro": (
        "Sans compte. Votre nom et votre adresse sont facultatifs et ne sont jamais publiés ; "
        "ils servent seulement à vous répondre. Une réponse peut être publiée ici, avec votre "
        "question mais sans votre nom.",
        "No account needed. Your name and address are optional and never published; they are "
        "only used to reply to you. An answer may be published here, with your question but "
        "without your name.",
    ),
    "qa_kind": ("Il s'agit", "This is"),
    "qa_kind_question": ("d'une question", "a question"),
    "qa_kind_problem": ("d'un problème à signaler", "a problem to report"),
    "qa_text": ("Votre message", "Your message"),
    "qa_text_help": ("{max} caractères au plus.", "At most {max} characters."),
    "qa_name": ("Nom (facultatif)", "Name (optional)"),
    "qa_email": ("Adresse électronique (facultative)", "E-mail address (optional)"),
    "qa_honeypot": ("Laissez ce champ vide", "Leave this field empty"),
    "qa_send": ("Envoyer", "Send"),
    "qa_thanks": (
        "Merci : votre message est enregistré. L'équipe y répondra.",
        "Thank you: your message is recorded. The team will answer it.",
    ),
    "qa_err_empty": ("Écrivez votre message.", "Write your message."),
    "qa_err_too_long": (
        "Le message dépasse {max} caractères.",
        "The message is longer than {max} characters.",
    ),
    "qa_err_bad_kind": ("Choisissez question ou problème.", "Choose question or problem."),
    "qa_err_name_too_long": ("Le nom est trop long.", "The name is too long."),
    "qa_err_bad_email": ("Cette adresse n'est pas valide.", "This address is not valid."),
    "qa_err_rate_limited": (
        "Trop de messages depuis votre connexion ; réessayez dans {minutes} min.",
        "Too many messages from your connection; try again in {minutes} min.",
    ),
    "qa_err_expired": (
        "Le formulaire a expiré ; il a été rechargé, envoyez-le à nouveau.",
        "The form expired; it was reloaded, send it again.",
    ),
    "qa_unknown_pseudonym": (
        "Aucun capteur n'a porté ce pseudonyme ces derniers jours.",
        "No sensor has had this pseudonym in the last days.",
    ),
    "qa_register_link": ("Capteurs de ce quartier", "Sensors of this zone"),
    # questions, operators' page
    "qa_nav_questions": ("Questions", "Questions"),
    "qa_dash_title": ("Questions des habitants", "Residents' questions"),
    "qa_dash_intro": (
        "Répondez, publiez ou écartez. Une réponse publiée apparaît, avec la question mais sans "
        "nom ni adresse, sous chaque capteur du même type dans le même quartier. Chaque action "
        "est inscrite au journal d'audit.",
        "Answer, publish or dismiss. A published answer appears, with the question but without "
        "name or address, under every sensor of the same type in the same zone. Every action "
        "is written to the audit log.",
    ),
    "qa_dash_filter": ("Afficher", "Show"),
    "qa_status_open": ("À traiter", "To handle"),
    "qa_status_new": ("Nouvelle", "New"),
    "qa_status_answered": ("Réponse non publiée", "Answer not published"),
    "qa_status_published": ("Publiée", "Published"),
    "qa_status_dismissed": ("Écartée", "Dismissed"),
    "qa_dash_empty": ("Aucune question.", "No questions."),
    "qa_dash_item": ("N° {id} — {kind}", "No. {id} — {kind}"),
    "qa_dash_about": ("Capteur", "Sensor"),
    "qa_dash_from": ("De", "From"),
    "qa_dash_anonymous": ("anonyme", "anonymous"),
    "qa_dash_asked": ("Reçue le", "Received"),
    "qa_dash_answer_label": ("Réponse (publique si publiée)", "Answer (public once published)"),
    "qa_dash_save": ("Enregistrer sans publier", "Save without publishing"),
    "qa_dash_publish": ("Publier la question et la réponse", "Publish question and answer"),
    "qa_dash_dismiss": ("Écarter", "Dismiss"),
    "qa_dash_saved": ("Réponse enregistrée.", "Answer saved."),
    "qa_dash_published": ("Question et réponse publiées.", "Question and answer published."),
    "qa_dash_dismissed": ("Question écartée.", "Question dismissed."),
    "qa_dash_refused": (
        "Envois refusés depuis le démarrage de ce processus : {counts}",
        "Submissions refused since this process started: {counts}",
    ),
    "qa_dash_error": ("Refusé : {detail}", "Refused: {detail}"),
}
