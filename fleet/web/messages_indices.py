"""Texts of the public indices and of "how sure is a figure", in French then English."""

from __future__ import annotations

__all__ = ["INDEX_MESSAGES"]

INDEX_MESSAGES: dict[str, tuple[str, str]] = {
    "nav_indices": ("Indices", "Indices"),
    "indices_title": ("Indices en clair", "Indices in plain words"),
    "indices_intro": (
        "Ce que disent nos mesures, comparées aux échelles officielles : chaque indice dit "
        "qui le définit, d'où viennent ses seuils et comment nous le calculons.",
        "What our figures mean against the official scales: each index says who defines "
        "it, where its thresholds come from and how we compute it.",
    ),
    "ix_particles": ("Particules fines (indice ATMO, OMS)", "Fine particles (ATMO index, WHO)"),
    "ix_particles_short": (
        "Moyenne du jour en PM2,5 et PM10, sur l'échelle ATMO et face aux valeurs de l'OMS.",
        "The day's PM2.5 and PM10 mean, on the ATMO scale and against the WHO values.",
    ),
    "ix_noise": ("Bruit (Lden, Lnight, OMS)", "Noise (Lden, Lnight, WHO)"),
    "ix_noise_short": (
        "Le niveau sonore d'une journée complète, face aux recommandations de l'OMS.",
        "A whole day's sound level, against the WHO recommendations.",
    ),
    "ix_heat": ("Chaleur (seuils canicule)", "Heat (heatwave thresholds)"),
    "ix_heat_short": (
        "Moyenne sur trois jours des minimales et maximales, face aux seuils de Météo-France.",
        "Three-day mean of the lows and highs, against Météo-France's thresholds.",
    ),
    "ix_bins": ("Conteneurs à vider", "Bins that need emptying"),
    "ix_bins_short": (
        "Le dernier remplissage publié, face au seuil fixé pour ce type de capteur.",
        "The latest published fill level, against the threshold set for the sensor type.",
    ),
    "ix_soil": ("Sols à arroser", "Soil that needs watering"),
    "ix_soil_short": (
        "La dernière humidité du sol publiée, face au seuil fixé pour ce type de capteur.",
        "The latest published soil moisture, against the threshold set for the sensor type.",
    ),
    "ix_what": ("Ce que c'est", "What it is"),
    "ix_who": ("Qui le définit", "Who defines it"),
    "ix_how": ("Comment nous le calculons", "How we compute it"),
    "ix_now": ("Par quartier, aujourd'hui", "By zone, now"),
    "ix_source": ("Source : ", "Source: "),
    "ix_no_figure": ("Aucune valeur publiée récemment.", "No figure published lately."),
    "ix_day": ("Jour", "Day"),
    "ix_hours": ("{n} h publiées", "{n} h published"),
    "ix_above": ("au-dessus ({ratio} fois la valeur)", "above ({ratio} times the value)"),
    "ix_below": ("en dessous", "below"),
    "ix_above_db": ("au-dessus de {db} dB", "{db} dB above"),
    "index_not_found": ("Cet indice n'existe pas.", "This index does not exist."),
    "ix_band_table": ("Les classes de l'indice", "The index's bands"),
    "ix_band": ("Qualificatif", "Qualifier"),
    "atmo_good": ("Bon", "Good"),
    "atmo_fair": ("Moyen", "Fair"),
    "atmo_degraded": ("Dégradé", "Degraded"),
    "atmo_poor": ("Mauvais", "Poor"),
    "atmo_very_poor": ("Très mauvais", "Very poor"),
    "atmo_extremely_poor": ("Extrêmement mauvais", "Extremely poor"),
    "atmo_upto": ("jusqu'à {v} µg/m³", "up to {v} µg/m³"),
    "atmo_over": ("plus de {v} µg/m³", "over {v} µg/m³"),
    "px_what": (
        "L'indice ATMO qualifie la qualité de l'air d'une journée en six classes, de « bon » "
        "à « extrêmement mauvais ». Nous publions ses sous-indices pour les particules PM2,5 "
        "et PM10, les seuls polluants de l'indice que nos capteurs mesurent : ce n'est donc "
        "pas l'indice ATMO complet (qui compte aussi NO2, O3 et SO2).",
        "The ATMO index rates a day's air quality in six bands, from \u201cgood\u201d to "
        "\u201cextremely poor\u201d. We publish its sub-indices for PM2.5 and PM10 particles, the "
        "only pollutants of the index our sensors measure: it is therefore not the whole ATMO "
        "index (which also counts NO2, O3 and SO2).",
    ),
    "px_who": (
        "Les seuils sont fixés par l'arrêté du 10 juillet 2020 (annexe I) sur la moyenne "
        "journalière ; l'indice officiel d'Angers est publié par Air Pays de la Loire. "
        "L'OMS recommande de ne pas dépasser, pour les PM2,5, 15 µg/m³ en moyenne sur "
        "24 heures et 5 µg/m³ en moyenne annuelle ; pour les PM10, 45 et 15 µg/m³.",
        "The thresholds are set by the arrêté of 10 July 2020 (annex I) on the daily mean; "
        "Angers' official index is published by Air Pays de la Loire. The WHO recommends not "
        "exceeding, for PM2.5, 15 µg/m³ as a 24-hour mean and 5 µg/m³ as an annual mean; for "
        "PM10, 45 and 15 µg/m³.",
    ),
    "px_how": (
        "Pour chaque quartier, la moyenne des heures publiées de son dernier jour (pondérée "
        "par le nombre de mesures), classée selon l'arrêté et comparée à la valeur de l'OMS "
        "sur 24 heures. Un jour en cours ou incomplet compte les heures publiées, indiquées. "
        "La valeur annuelle de l'OMS demande une année de mesures : nous ne la comparons pas.",
        "For each zone, the mean of its latest day's published hours (weighted by readings), "
        "banded as the arrêté says and compared with the WHO 24-hour value. A day in progress "
        "or incomplete counts the hours published, shown. The WHO annual value needs a year "
        "of data: we do not compare with it.",
    ),
    "px_who_day": ("OMS 24 h ({v} µg/m³)", "WHO 24 h ({v} µg/m³)"),
    "px_humid": ("Air humide", "Humid air"),
    "px_humid_hours": (
        "{n} h sur {of} à {rh} % d'humidité ou plus : probablement surestimé",
        "{n} of {of} h at {rh} % humidity or more: likely over-estimated",
    ),
    "px_humid_hours_short": (
        "{n} h d'air humide : probablement surestimé",
        "{n} h of humid air: likely over-estimated",
    ),
    "map_atmo": ("ATMO\u00a0: {band}", "ATMO: {band}"),
    "px_who_table": ("Valeurs guides de l'OMS (2021)", "WHO guideline values (2021)"),
    "px_day_mean": ("Moyenne 24 h", "24-hour mean"),
    "px_year_mean": ("Moyenne annuelle", "Annual mean"),
    "nx_what": (
        "Le Lden est le niveau sonore moyen d'une journée où le bruit du soir compte 5 dB de "
        "plus et celui de la nuit 10 dB de plus, parce qu'il gêne davantage ; le Lnight est "
        "le niveau moyen de la nuit (22 h-6 h).",
        "Lden is a day's average sound level where evening noise counts 5 dB more and night "
        "noise 10 dB more, because it disturbs more; Lnight is the night's average level "
        "(22:00-06:00).",
    ),
    "nx_who": (
        "L'OMS (bureau Europe, 2018) recommande pour le trafic routier un Lden inférieur à "
        "53 dB et un Lnight inférieur à 45 dB. Les périodes (jour 6 h-18 h, soir 18 h-22 h, "
        "nuit 22 h-6 h) sont celles des cartes de bruit en France.",
        "The WHO (Europe, 2018) recommends for road traffic an Lden below 53 dB and an Lnight "
        "below 45 dB. The periods (day 06:00-18:00, evening 18:00-22:00, night 22:00-06:00) "
        "are those of French noise maps.",
    ),
    "nx_how": (
        "Nos capteurs publient un LAeq horaire (niveau équivalent pondéré A) par quartier. "
        "Quand les 24 heures d'un jour sont publiées, nous en calculons le Lden et le Lnight "
        "(moyenne d'énergie des heures, avec +5 dB le soir et +10 dB la nuit). Les valeurs "
        "de l'OMS portent sur une moyenne annuelle, tous bruits de trafic routier, en façade : "
        "le Lden d'un seul jour, mesuré dans la rue et toutes sources confondues, n'en est "
        "qu'une indication.",
        "Our sensors publish an hourly LAeq (A-weighted equivalent level) per zone. When all "
        "24 hours of a day are published, we compute its Lden and Lnight (energy mean of the "
        "hours, +5 dB in the evening and +10 dB at night). The WHO values are for a yearly "
        "average of road traffic noise at the façade: one day's Lden, measured in the street "
        "from every source, is only an indication of it.",
    ),
    "nx_full_day": ("Dernier jour complet", "Latest whole day"),
    "nx_latest": ("Dernier jour (LAeq)", "Latest day (LAeq)"),
    "nx_no_full_day": ("pas de jour complet", "no whole day"),
    "hx_what": (
        "Une canicule, pour Météo-France, c'est une chaleur forte de jour comme de nuit, trois "
        "jours de suite. Elle se lit sur deux indicateurs : la moyenne sur trois jours des "
        "températures minimales (IBMn) et des maximales (IBMx).",
        "A heatwave, for Météo-France, is strong heat by day and by night, three days in a "
        "row. It is read on two indicators: the three-day mean of the daily lows (IBMn) and "
        "of the daily highs (IBMx).",
    ),
    "hx_who": (
        "Météo-France fixe des seuils par département, utilisés par la vigilance canicule. "
        "Nous utilisons pour le Maine-et-Loire IBMn {low} °C et IBMx {high} °C ; nous n'avons "
        "pas pu le vérifier dans une publication officielle : vérifiez-le sur la page "
        "vigilance de Météo-France.",
        "Météo-France sets thresholds per département, used by the heatwave vigilance. We use "
        "for Maine-et-Loire IBMn {low} °C and IBMx {high} °C; we could not check it against "
        "an official publication: check it on Météo-France's vigilance page.",
    ),
    "hx_how": (
        "Pour chaque quartier, les trois derniers jours consécutifs ayant au moins {hours} "
        "heures publiées : la plus basse et la plus haute moyenne horaire de chaque jour, "
        "moyennées sur les trois jours. Des moyennes horaires lissent les extrêmes : nos "
        "IBM sont un peu en deçà de ceux d'une station météo. Météo-France décide la "
        "vigilance sur des prévisions, nous montrons des mesures passées.",
        "For each zone, its three latest consecutive days with at least {hours} published "
        "hours: each day's lowest and highest hourly mean, averaged over the three days. "
        "Hourly means smooth the extremes: our IBM are a little below a weather station's. "
        "Météo-France decides the vigilance on forecasts; we show past measurements.",
    ),
    "hx_days": ("Jours", "Days"),
    "hx_reached": ("Seuils canicule atteints", "Heatwave thresholds reached"),
    "hx_not_reached": ("Seuils non atteints", "Thresholds not reached"),
    "hx_not_enough": ("pas trois jours complets", "not three whole days"),
    "hx_status": ("Canicule ?", "Heatwave?"),
    "need_what_bins": (
        "Un conteneur est à vider quand son remplissage atteint le seuil fixé par "
        "l'exploitant pour ce type de capteur.",
        "A bin needs emptying when its fill level reaches the threshold the operator set "
        "for the sensor type.",
    ),
    "need_what_soil": (
        "Un sol est à arroser quand son humidité descend au seuil fixé par l'exploitant pour "
        "ce type de capteur.",
        "Soil needs watering when its moisture falls to the threshold the operator set for "
        "the sensor type.",
    ),
    "need_who": (
        "Le seuil est celui du profil du capteur dans le registre (aucune norme ne le fixe). "
        "Un quartier dont les profils n'en fixent pas n'a pas d'indice.",
        "The threshold is the sensor profile's, in the register (no standard sets it). A "
        "zone whose profiles set none has no index.",
    ),
    "need_how": (
        "La dernière valeur horaire publiée du quartier, comparée au seuil ; si plusieurs "
        "profils du quartier en fixent un, le plus prudent compte.",
        "The zone's latest published hourly figure against the threshold; when several of "
        "the zone's profiles set one, the most cautious counts.",
    ),
    "need_threshold": ("Seuil", "Threshold"),
    "need_no_threshold": ("aucun seuil fixé", "no threshold set"),
    "need_bins_yes": ("À vider", "Needs emptying"),
    "need_soil_yes": ("À arroser", "Needs watering"),
    "need_no": ("Pas encore", "Not yet"),
    "need_latest": ("Dernière heure", "Latest hour"),
    # how sure is a figure
    "q_title": ("Quelle confiance accorder à ces chiffres ?", "How sure are these figures?"),
    "q_models": ("Modèles de capteurs et précision annoncée", "Sensor models and stated accuracy"),
    "q_model": ("Modèle", "Model"),
    "q_accuracy": ("Précision (fiche technique)", "Accuracy (datasheet)"),
    "q_no_model": ("Aucun modèle connu pour cette mesure.", "No known model for this measure."),
    "q_sensors": ("Capteurs", "Sensors"),
    "q_zone_sensors": ("Capteurs\u00a0: {counts}", "Sensors: {counts}"),
    "q_sensors_n": ("{n} en service sur {of}", "{n} in service of {of}"),
    "q_left_out": ("Mesures écartées", "Readings left out"),
    "q_left_out_n": ("{n} écartées comme invraisemblables", "{n} left out as implausible"),
    "q_left_out_note": (
        "Les passerelles écartent les mesures invraisemblables (hors de la plage du capteur, "
        "saut trop brusque, valeur figée) avant de calculer les chiffres ; nous les comptons "
        "ici, par quartier, du {since} au {until}.",
        "Gateways leave out implausible readings (outside the sensor's range, too sudden a "
        "jump, a stuck value) before computing the figures; we count them here, per zone, "
        "from {since} to {until}.",
    ),
    "q_history_cut": (
        "Le parc ne garde que 7 jours d'historique : les mesures écartées plus anciennes ne "
        "sont pas comptées.",
        "The fleet keeps 7 days of history: readings left out earlier are not counted.",
    ),
    "q_correction": ("Correction", "Correction"),
    "q_humidity": (
        "Les capteurs de particules à bas coût lisent trop haut dans l'air humide (les "
        "particules gonflent d'eau, le brouillard est compté). Nous ne corrigeons pas les "
        "valeurs : nous signalons les heures où l'humidité moyenne du quartier atteint "
        "{rh} %, où la valeur est probablement surestimée.",
        "Low-cost particle sensors read high in humid air (particles take up water, fog is "
        "counted). We do not correct the figures: we flag the hours when the zone's mean "
        "humidity reaches {rh} %, when the figure is likely over-estimated.",
    ),
    "q_no_correction": (
        "Aucune correction n'est appliquée : la valeur est la moyenne des mesures retenues.",
        "No correction is applied: the figure is the mean of the readings kept.",
    ),
    "q_calibration": ("Date d'étalonnage", "Calibration date"),
    "q_not_recorded": (
        "non enregistrée : le registre ne garde pas de date d'étalonnage par capteur.",
        "not recorded: the register keeps no calibration date per sensor.",
    ),
    "q_index_link": ("Ce que ce chiffre veut dire : {index}", "What this figure means: {index}"),
}
