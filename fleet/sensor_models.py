"""The sensor models behind published figures, with the accuracy their makers state and where,
and the humidity flag on low-cost particle figures: data for "how sure is a figure".

Accuracies are the datasheets' own words, under their test conditions; a figure averages
several readings and sensors, and is no better than its sensors' bias. The fleet records no
calibration date for a sensor: pages say "not recorded" rather than guess.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "HUMIDITY_SOURCE",
    "HUMID_RH_PCT",
    "SENSOR_MODELS",
    "SensorModel",
    "is_humid",
    "models_for",
]


@dataclass(frozen=True, slots=True)
class SensorModel:
    name: str
    measures: tuple[str, ...]
    accuracy: tuple[str, str]  # French, English
    source: str  # the document the accuracy comes from


SENSOR_MODELS: tuple[SensorModel, ...] = (
    SensorModel(
        "Bosch BME280",
        ("temp_c", "rh_pct", "p_hpa"),
        (
            "température ±1,0 °C (0 à 65 °C) ; humidité ±3 % HR (20 à 80 % HR) ; pression ±1,0 hPa",
            "temperature ±1.0 °C (0 to 65 °C); humidity ±3 % RH (20 to 80 % RH); pressure ±1.0 hPa",
        ),
        "Bosch Sensortec, BME280 datasheet (BST-BME280-DS002)",
    ),
    SensorModel(
        "Plantower PMS5003",
        ("pm25_ugm3", "pm10_ugm3"),
        (
            "±10 µg/m³ de 0 à 100 µg/m³, ±10 % de 100 à 500 µg/m³ (PM2,5)",
            "±10 µg/m³ from 0 to 100 µg/m³, ±10 % from 100 to 500 µg/m³ (PM2.5)",
        ),
        "Plantower, PMS5003 series data manual (V2.3)",
    ),
    SensorModel(
        "Nova Fitness SDS011",
        ("pm25_ugm3", "pm10_ugm3"),
        (
            "la plus grande de ±15 % et ±10 µg/m³ (à 25 °C, 50 % HR)",
            "the larger of ±15 % and ±10 µg/m³ (at 25 °C, 50 % RH)",
        ),
        "Nova Fitness, SDS011 laser PM2.5 sensor specification (V1.3)",
    ),
    SensorModel(
        "InvenSense INMP441 / TDK ICS-43434",
        ("laeq_db", "lamax_db"),
        (
            "sensibilité ±1 dB à 1 kHz ; bruit propre 33 dB(A) (INMP441), 29 dB(A) "
            "(ICS-43434) ; ce n'est pas un sonomètre de classe 1 ou 2 (IEC 61672)",
            "sensitivity ±1 dB at 1 kHz; self-noise 33 dB(A) (INMP441), 29 dB(A) "
            "(ICS-43434); not a class 1 or 2 sound level meter (IEC 61672)",
        ),
        "InvenSense INMP441 datasheet (DS-INMP441); TDK ICS-43434 datasheet (DS-000069)",
    ),
    SensorModel(
        "Compteur Bluetooth (BLE) / BLE people counter",
        ("people_n",),
        (
            "aucune précision constructeur : compte les appareils Bluetooth distincts, pas "
            "les personnes (une personne sans appareil n'est pas comptée, une personne avec "
            "deux l'est deux fois) ; le nombre publié est de plus bruité (intervalle à 90 %)",
            "no maker's accuracy: counts distinct Bluetooth devices, not people (a person "
            "without one is missed, a person with two counted twice); the published number "
            "also carries privacy noise (90 % interval)",
        ),
        "Territoire firmware (firmware/sensors/people.py); docs/privacy.md",
    ),
    SensorModel(
        "HC-SR04 / JSN-SR04T (ultrason / ultrasonic)",
        ("fill_pct",),
        (
            "distance ±3 mm (HC-SR04), ±1 cm (JSN-SR04T) ; le remplissage dépend aussi de la "
            "profondeur du conteneur configurée",
            "distance ±3 mm (HC-SR04), ±1 cm (JSN-SR04T); the fill level also depends on "
            "the configured bin depth",
        ),
        "HC-SR04 and JSN-SR04T ultrasonic ranging module datasheets",
    ),
    SensorModel(
        "Sonde capacitive v1.2 / capacitive soil probe v1.2",
        ("soil_pct",),
        (
            "aucune précision constructeur : un indice relatif entre deux points d'étalonnage "
            "(sonde à l'air, sonde dans l'eau), pas une teneur en eau volumique",
            "no maker's accuracy: a relative index between two calibration points (probe in "
            "air, probe in water), not a volumetric water content",
        ),
        "Territoire firmware (firmware/sensors/analog.py)",
    ),
)

# Low-cost optical particle counters read high in humid air: particles take up water and
# fog droplets are counted; Jayaratne et al. found significant increases above about 75 % RH.
# We do not correct the figures: hours whose zone humidity mean is at or above this are flagged.
HUMID_RH_PCT = 75.0
HUMIDITY_SOURCE = (
    "R. Jayaratne et al., The influence of humidity on the performance of a low-cost air "
    "particle mass sensor and the effect of atmospheric fog, Atmos. Meas. Tech. 11, "
    "4883-4890 (2018), doi:10.5194/amt-11-4883-2018"
)


def models_for(metric: str) -> list[SensorModel]:
    return [m for m in SENSOR_MODELS if metric in m.measures]


def is_humid(rh_mean: float) -> bool:
    return rh_mean >= HUMID_RH_PCT
