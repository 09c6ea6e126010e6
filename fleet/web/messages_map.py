"""Texts of the public map and the zone charts, in French then English."""

from __future__ import annotations

__all__ = ["MAP_MESSAGES"]

MAP_MESSAGES: dict[str, tuple[str, str]] = {
    "nav_map": ("Carte", "Map"),
    "map_title": ("Carte du territoire", "Map of the territory"),
    "map_intro": (
        "Chaque quartier est coloré selon la mesure publiée pour l'heure ou le jour choisi. "
        "Les capteurs sont comptés par quartier ; leur emplacement exact n'est jamais publié.",
        "Each zone is coloured by the figure published for the chosen hour or day. Sensors "
        "are counted per zone; their exact location is never published.",
    ),
    "map_choose": ("Choisir la mesure et la période", "Choose the measure and the period"),
    "map_metric": ("Mesure", "Measure"),
    "map_period": ("Période", "Period"),
    "period_hour": ("Une heure", "One hour"),
    "period_day": ("Un jour", "One day"),
    "map_at": ("Quand", "When"),
    "map_latest": ("La plus récente", "The most recent"),
    "map_showing": ("{metric}, {when}", "{metric}, {when}"),
    "map_no_data": (
        "Aucune valeur publiée pour cette mesure.",
        "No figure published for this measure.",
    ),
    "map_label": (
        "Carte des quartiers ; les mêmes chiffres sont dans le tableau qui suit.",
        "Map of the zones; the same figures are in the table that follows.",
    ),
    "map_zoom_in": ("Zoomer", "Zoom in"),
    "map_zoom_out": ("Dézoomer", "Zoom out"),
    "map_legend": ("Légende", "Legend"),
    "map_legend_no_data": ("Pas de valeur publiée", "No published figure"),
    "map_range": ("de {low} à {high}", "from {low} to {high}"),
    "map_table_caption": (
        "{metric} par quartier, {when}, et capteurs par type et état",
        "{metric} by zone, {when}, and sensors by kind and status",
    ),
    "map_value": ("Valeur", "Figure"),
    "map_interval": ("Intervalle à 90 %", "90 % interval"),
    "map_sensors": ("Capteurs", "Sensors"),
    "map_no_sensor": ("Aucun capteur", "No sensor"),
    "map_zone_charts": ("Courbes", "Charts"),
    "map_zone_link": ("Courbes de {zone}", "Charts of {zone}"),
    "map_json": ("Les mêmes chiffres en JSON :", "The same figures as JSON:"),
    "map_count_status": ("{count} {status}", "{count} {status}"),
    "map_people_note": (
        "Les nombres de personnes sont bruités pour protéger la vie privée : l'intervalle à "
        "90 % dit où se trouve le vrai nombre.",
        "People counts carry noise that protects privacy: the 90 % interval says where the "
        "true number lies.",
    ),
    "map_zones_without_boundary": (
        "Quartiers sans contour (absents de la carte, présents dans le tableau) : {names}",
        "Zones without an outline (not on the map, in the table): {names}",
    ),
    "map_from_register": ("Voir les capteurs sur la carte", "See the sensors on the map"),
    # zone charts
    "zone_title": ("{zone} : courbes", "{zone}: charts"),
    "zone_intro": (
        "Les valeurs publiées pour ce quartier, comparées à la médiane des autres quartiers.",
        "The figures published for this zone, compared with the median of the other zones.",
    ),
    "zone_metric_choose": ("Choisir la mesure", "Choose the measure"),
    "zone_no_data": (
        "Aucune valeur publiée pour ce quartier ces 30 derniers jours.",
        "No figure published for this zone in the last 30 days.",
    ),
    "range_24h": ("Dernières 24 heures", "Last 24 hours"),
    "range_7d": ("7 derniers jours", "Last 7 days"),
    "range_30d": ("30 derniers jours", "Last 30 days"),
    "chart_title": ("{metric} — {zone} — {range}", "{metric} — {zone} — {range}"),
    "zone_chart_summary": (
        "De {low} à {high} ; dernière valeur {latest} ({when}) ; tendance : {trend}.",
        "From {low} to {high}; latest {latest} ({when}); trend: {trend}.",
    ),
    "chart_empty": (
        "Aucune valeur publiée sur cette période.",
        "No figure published in this period.",
    ),
    "trend_rising": ("en hausse", "rising"),
    "trend_falling": ("en baisse", "falling"),
    "trend_stable": ("stable", "steady"),
    "trend_unknown": ("trop peu de valeurs pour le dire", "too few figures to tell"),
    "chart_key_zone": ("Ce quartier", "This zone"),
    "chart_key_others": (
        "Médiane des autres quartiers (tirets)",
        "Median of the other zones (dashed)",
    ),
    "chart_key_band": ("Intervalle à 90 % (zone ombrée)", "90 % interval (shaded)"),
    "chart_table": ("Les valeurs du graphique", "The chart's figures"),
    "chart_table_caption": ("{metric} — {range}", "{metric} — {range}"),
    "chart_when": ("Période", "Period"),
    "chart_others": ("Médiane des autres", "Median of the others"),
    "zone_not_found": ("Ce quartier n'existe pas.", "This zone does not exist."),
    "back_to_map": ("Retour à la carte", "Back to the map"),
    # the public home: the map, a welcome and the other public pages
    "home_welcome": (
        "Ce que mesurent les capteurs publics du territoire, quartier par quartier : choisissez "
        "une mesure, touchez un quartier pour voir ses courbes.",
        "What the territory's public sensors measure, zone by zone: choose a measure, tap a "
        "zone to see its charts.",
    ),
    "home_more": ("Aussi sur ce site", "Also on this site"),
    "home_indices": (
        "l'air, le bruit, la chaleur, les conteneurs et les sols en mots simples, avec leurs "
        "sources.",
        "air, noise, heat, bins and soil in plain words, with their sources.",
    ),
    "home_register": (
        "chaque capteur : ce qu'il mesure, pourquoi, qui en répond, combien de temps ; posez-y "
        "une question.",
        "every sensor: what it measures, why, who answers for it, for how long; ask a "
        "question about one.",
    ),
    "home_open_data_link": ("Données ouvertes à télécharger", "Open data to download"),
    "home_open_data": (
        "tout ce qui est publié, en CSV ou en NGSI-LD.",
        "everything published, as CSV or NGSI-LD.",
    ),
    "home_privacy": (
        "par quartier et par jour, le budget de confidentialité dépensé et les chiffres "
        "publiés ou retenus.",
        "per zone and day, the privacy budget spent and the figures published or withheld.",
    ),
    "home_releases": (
        "chaque version du logiciel des capteurs, ses empreintes SHA-256 et son déploiement.",
        "every version of the sensors' software, its SHA-256 hashes and its rollout.",
    ),
}
