"""The photographs the synthetic training data is cut from.

Only Debian packages are used, and only the images in them that are photographs (checked by
eye from a contact sheet: abstract art, gradients, renders and drawings are left out).
Three photos are held out: they appear only in the synthetic validation set.
"""

from __future__ import annotations

import os

from .env import die

PACKAGES = ["mate-backgrounds", "plasma-workspace-wallpapers", "lomiri-wallpapers-16.04", "lomiri-wallpapers-20.04"]

_MATE = "/usr/share/backgrounds/mate/nature/"
_PLASMA = "/usr/share/wallpapers/{}/contents/images/2560x1600.jpg"
_LOMIRI = "/usr/share/backgrounds/"

TRAIN = [
    _MATE + "Aqua.jpg",
    _MATE + "Blinds.jpg",
    _MATE + "Dune.jpg",
    _MATE + "FreshFlower.jpg",
    _MATE + "Garden.jpg",
    _MATE + "GreenMeadow.jpg",
    _MATE + "LadyBird.jpg",
    _MATE + "RainDrops.jpg",
    _MATE + "TwoWings.jpg",
    _MATE + "Wood.jpg",
    _PLASMA.format("BytheWater"),
    _PLASMA.format("ColdRipple"),
    _PLASMA.format("DarkestHour"),
    _PLASMA.format("FallenLeaf"),
    _PLASMA.format("Grey"),
    _PLASMA.format("Kite"),
    _PLASMA.format("OneStandsOut"),
    _PLASMA.format("summer_1am"),
    "/usr/share/wallpapers/Volna/contents/images/5120x2880.jpg",
    # added for run 4 (session 3): the photographs among the Lomiri wallpapers
    _LOMIRI + "Bridge_by_Sander_Klootwijk.jpg",
    _LOMIRI + "Dragonfly_by_Bolly.jpg",
    _LOMIRI + "Kleiber_by_Lukas_Baubkus.jpg",
    _LOMIRI + "Picture_0B_by_freespace.jpg",
    _LOMIRI + "Picture_1A_by_freespace.jpg",
    _LOMIRI + "Wine_by_Jakkub_Mede.jpg",
    _LOMIRI + "aitzgorri_by_Aitzol_Berasategi.jpg",
    _LOMIRI + "free_by_Peter_Nerlich.jpg",
    _LOMIRI + "friends_by_Aitzol_Berasategi.jpg",
    _LOMIRI + "life_by_Aitzol_Berasategi.jpg",
    _LOMIRI + "picosdeeuropa_by_Aitzol_Berasategi.jpg",
    _LOMIRI + "seeding_by_Clements_Engelhardt.jpg",
    _LOMIRI + "sunset_by_Aitzol_Berasategi.jpg",
]

HELDOUT = [
    _MATE + "Storm.jpg",
    _MATE + "YellowFlower.jpg",
    _PLASMA.format("EveningGlow"),
    _PLASMA.format("Path"),
]


def check(paths: list[str]) -> list[str]:
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        die(
            f"{len(missing)} training photo(s) missing, e.g. {missing[0]}\n"
            f"  install: apt-get install -y {' '.join(PACKAGES)}"
        )
    return paths
