"""Names for the music world: artists, song titles, home towns and countries.

Everything is drawn from fixed word lists with a caller's random generator, so
the same seed gives the same names.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ORIGINS", "artist_names", "track_titles", "origins"]

_ADJECTIVES = (
    "Amber Arctic Atomic Autumn Black Blue Broken Burning Calm Cardboard Crystal Dark "
    "Distant Electric Empty Endless Fading Falling Flying Forgotten Frozen Gentle Golden "
    "Hidden Hollow Honey Iron Last Little Lonely Lost Lucky Midnight Mellow Neon Northern "
    "Paper Pale Quiet Rapid Restless Royal Rusty Scarlet Secret Silent Silver Sleepy Slow "
    "Smoky Solar Southern Static Stolen Strange Sugar Summer Tender Velvet Violet Wandering "
    "Wild Winter Wooden Young"
).split()

_NOUNS = (
    "Anchors Arrows Bandits Bells Birds Bridges Canyons Cats Circles Clouds Comets Crows "
    "Daydreams Deer Diamonds Drifters Echoes Engines Feathers Fires Foxes Gardens Ghosts "
    "Giants Harbors Hearts Horses Islands Jets Kings Lanterns Lions Machines Magnets "
    "Mirrors Monsters Moons Mountains Oceans Owls Palms Parades Pilots Planets Poets Queens "
    "Rabbits Radios Rivers Robots Rockets Sailors Satellites Shadows Sparrows Stars Storms "
    "Strangers Tides Tigers Trains Travelers Tulips Wolves Waves Windows"
).split()

_FIRST = (
    "Ada Alba Alex Ana Ben Cleo Dana Eli Ella Emil Eva Felix Frida Gil Hana Ida Ines Ivan "
    "Jana Jonas Juno Kai Kira Lars Lea Leo Lina Luca Maja Mara Milo Nils Nora Omar Otto "
    "Pia Rafa Rosa Ruby Sami Sara Sofi Theo Tove Uma Vera Viggo Yara Zoe"
).split()

_LAST = (
    "Alder Bell Berg Blake Brook Carver Castillo Dahl Diaz Ek Falk Fischer Frost Grey "
    "Hale Holm Hunt Ito Jensen Kane Keller Kim Lind Lund Marsh Moreau Nash Nord Novak "
    "Okafor Olsen Park Perez Quinn Reyes Rossi Sato Shaw Silva Stone Strand Vale Wade "
    "Weiss West Wolfe Young Zamora"
).split()

_SYLLABLES = "ka lo mi ra zu ve na tio sol ari ben del fi go ju lum nor pa qui sen ta ur vo xe yo".split()

_TITLE_NOUNS = (
    "heart night fire river summer city dream light rain road sky ocean star window "
    "morning shadow ghost garden letter mirror highway signal echo storm island wire "
    "radio candle harbor train mountain field dance secret promise winter stranger"
).split()

_TITLE_VERBS = "Hold Chase Follow Burn Call Dance Find Keep Leave Meet Save Take Wake Watch".split()

#: (city, country) pairs an artist can come from.
ORIGINS: tuple[tuple[str, str], ...] = (
    ("Stockholm", "Sweden"), ("Gothenburg", "Sweden"), ("London", "England"),
    ("Manchester", "England"), ("Glasgow", "Scotland"), ("Dublin", "Ireland"),
    ("Paris", "France"), ("Lyon", "France"), ("Berlin", "Germany"), ("Hamburg", "Germany"),
    ("Oslo", "Norway"), ("Reykjavik", "Iceland"), ("Helsinki", "Finland"),
    ("Copenhagen", "Denmark"), ("Amsterdam", "the Netherlands"), ("Madrid", "Spain"),
    ("Lisbon", "Portugal"), ("Milan", "Italy"), ("New York", "the United States"),
    ("Nashville", "the United States"), ("Atlanta", "the United States"),
    ("Detroit", "the United States"), ("Los Angeles", "the United States"),
    ("Chicago", "the United States"), ("Toronto", "Canada"), ("Montreal", "Canada"),
    ("Mexico City", "Mexico"), ("Sao Paulo", "Brazil"), ("Buenos Aires", "Argentina"),
    ("Lagos", "Nigeria"), ("Johannesburg", "South Africa"), ("Tokyo", "Japan"),
    ("Seoul", "South Korea"), ("Melbourne", "Australia"), ("Auckland", "New Zealand"),
)


def artist_names(n: int, rng: np.random.Generator) -> list[str]:
    """Draw ``n`` distinct artist names.

    Bands ("The Velvet Foxes"), solo artists ("Nora Lind") and one-word names
    ("Kalomi") are mixed; names never repeat.
    """
    bands = [f"The {a} {b}" for a in _ADJECTIVES for b in _NOUNS]
    people = [f"{a} {b}" for a in _FIRST for b in _LAST]
    words = [(a + b).capitalize() for a in _SYLLABLES for b in _SYLLABLES if a != b]
    words += [(a + b + c).capitalize() for a in _SYLLABLES[:12] for b in _SYLLABLES for c in _SYLLABLES[:10]]
    pool = list(dict.fromkeys(bands + people + words))
    if n > len(pool):
        raise ValueError(f"cannot draw {n} distinct artist names from a pool of {len(pool)}")
    return [pool[i] for i in rng.choice(len(pool), size=n, replace=False)]


def track_titles(n: int, rng: np.random.Generator) -> list[str]:
    """Draw ``n`` song titles ("Neon Harbor", "Chase the Signal", "Letters of Rain")."""
    adjectives, nouns, verbs = _ADJECTIVES, _TITLE_NOUNS, _TITLE_VERBS
    pattern = rng.integers(0, 4, size=n)
    a = rng.integers(0, len(adjectives), size=n)
    b = rng.integers(0, len(nouns), size=n)
    c = rng.integers(0, len(nouns), size=n)
    v = rng.integers(0, len(verbs), size=n)
    titles = []
    for p, ai, bi, ci, vi in zip(pattern, a, b, c, v):
        if p == 0:
            titles.append(f"{adjectives[ai]} {nouns[bi].capitalize()}")
        elif p == 1:
            titles.append(f"{verbs[vi]} the {nouns[bi].capitalize()}")
        elif p == 2:
            titles.append(f"{nouns[bi].capitalize()} of {nouns[ci].capitalize()}")
        else:
            titles.append(f"{adjectives[ai]} {nouns[bi].capitalize()} {nouns[ci].capitalize()}")
    return titles


def origins(n: int, rng: np.random.Generator) -> list[str]:
    """Draw ``n`` home towns as ``"City, Country"`` strings."""
    idx = rng.integers(0, len(ORIGINS), size=n)
    return [f"{ORIGINS[i][0]}, {ORIGINS[i][1]}" for i in idx]
