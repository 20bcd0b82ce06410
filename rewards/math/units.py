"""Names of units: the only words that may follow a number and be dropped with it.

Never magnitudes ("million"), operators ("squared", "factorial", "pi") or qualifiers
("or more", "is wrong"): dropping those would make a different answer equal, a reward hack.
"""

from __future__ import annotations

import re

UNITS = frozenset(
    """
    mm cm dm m km in inch inches ft foot feet yd yard yards mi mile miles meter meters metre
    metres millimeter millimeters centimeter centimeters kilometer kilometers kilometre
    kilometres nm micron microns g kg mg gram grams kilogram kilograms milligram milligrams
    lb lbs pound pounds oz ounce ounces ton tons tonne tonnes l ml liter liters litre litres
    milliliter milliliters gallon gallons quart quarts pint pints cup cups s sec secs second
    seconds min mins minute minutes h hr hrs hour hours day days week weeks month months
    year years yr yrs ms dollar dollars cent cents euro euros yen rupees rupee pence
    degree degrees deg rad radian radians unit units sq square cubic km/h mph kph m/s
    cm/s km/hr mi/h mpg kmh kwh kw watt watts joule joules newton newtons volt volts amp
    amps ohm ohms hz mb gb kb tb byte bytes bit bits calorie calories cal kcal
    """.split()  # noqa: SIM905 - a word list reads better as words
)
_UNIT_TOKEN = re.compile(r"([A-Za-z]+(?:/[A-Za-z]+)?)\.?(?:\^\{?[23]\}?)?")


def is_unit(words: str) -> bool:
    """Whether ``words`` name a unit only ("cm", "square meters", "m/s", "km^2")."""
    tokens = words.replace(" per ", "/").split()
    if not tokens or len(tokens) > 4 or tokens[-1].lower() in ("sq", "square", "cubic"):
        return False
    for token in tokens:
        match = _UNIT_TOKEN.fullmatch(token)
        if not match:
            return False
        if any(part.lower() not in UNITS for part in match.group(1).split("/")):
            return False
    return True
