"""ImageNet-1k classes grouped into the tags a photobook needs.

ImageNet has 1000 fine classes (118 dog breeds, 'espresso', 'seashore') and no 'people',
'beach' or 'party'. Each tag below lists the class indices (model output order) it gathers;
`PARENTS` adds the broader tag (a beagle is a dog and an animal). 'people' comes from faces.
"""

from __future__ import annotations


def _span(first: int, last: int) -> tuple[int, ...]:
    return tuple(range(first, last + 1))


def _ids(text: str) -> tuple[int, ...]:
    return tuple(int(word) for word in text.split())


TAG_CLASSES: dict[str, tuple[int, ...]] = {
    "dog": _span(151, 268),  # the domestic dog breeds, Chihuahua .. Mexican hairless
    "cat": _span(281, 285),  # tabby, tiger cat, Persian, Siamese, Egyptian cat
    "bird": _span(7, 24) + _span(80, 100) + _span(127, 146),
    "fish": _span(0, 6) + _span(389, 397),
    "horse": (339, 603),  # sorrel, horse cart
    "animal": _span(25, 79) + _span(101, 126) + _span(147, 150) + _span(269, 280) + _span(286, 388),
    "food": (*_span(924, 965), 415, 509, 923, 567, 909, 926),
    # red wine, espresso, cup, eggnog, coffee mug, beer bottle, beer glass, wine bottle, goblet,
    # cocktail shaker, whiskey jug, coffeepot, teapot, pop bottle, espresso maker
    "drink": (966, 967, 968, 969, 504, 440, 441, 907, 572, 503, 901, 505, 849, 737, 550),
    # seashore, sandbar, bikini, maillot (x2), swimming trunks, breakwater, sunscreen
    "beach": (978, 977, 445, 638, 639, 842, 460, 838),
    # lakeside, coral reef, geyser, dock, pier, boathouse, scuba diver, snorkel
    "water": (975, 973, 974, 536, 718, 449, 983, 801),
    "mountain": (970, 972, 979, 980, 976, 672),  # alp, cliff, valley, volcano, promontory, tent
    "snow": (795, 802, 803, 450, 537),  # ski, snowmobile, snowplow, bobsled, dogsled
    # church, mosque, palace, castle, monastery, dome, bell cote, triumphal arch, obelisk,
    # bridges, viaduct, tile roof, thatch, barn, cinema, library, planetarium, stupa, yurt,
    # greenhouse, water tower, fountain, megalith, totem pole, cliff dwelling, prison
    "building": _ids(
        "497 668 698 483 663 538 442 873 682 821 839 888 858 "
        "853 425 498 624 727 832 915 580 900 562 649 863 500 743"
    ),
    # street sign, traffic light, streetcar, trolleybus, cab, parking meter, pay-phone, manhole
    # cover, mailbox, shops (book, butcher, shoe, toy, tobacco, grocery, barber), restaurant
    "city": (919, 920, 829, 874, 468, 704, 707, 640, 637, 454, 467, 788, 865, 860, 582, 424, 762),
    "car": (407, 436, 468, 511, 609, 627, 656, 661, 717, 751, 817, 581, 479, 573, 575),
    "boat": (472, 484, 510, 554, 576, 625, 628, 724, 780, 814, 833, 871, 914, 403, 694),
    "aircraft": (404, 405, 895, 908, 812),
    "train": (466, 547, 820, 565, 705),
    "bicycle": (444, 671, 870, 880),
    "vehicle": (654, 675, 734, 757, 779, 864, 867, 569, 555, 665, 670, 866, 595, 612, 690),
    "flower": (985, 986, 984, 883),  # daisy, yellow lady's slipper, rapeseed, vase
    "nature": (947, 991, 992, 993, 994, 995, 996, 997, 988, 989, 990, 987, 958),  # fungi, seeds, hay
    "sport": _ids(
        "429 430 522 574 768 805 852 890 722 746 752 981 560 416 602 702 422 543 747 701 693 781 518"
    ),
    "music": _ids(
        "401 402 420 432 486 513 541 546 558 566 579 593 594 642 683 684 687 699 776 822 875 881 889 650 819"
    ),
    # balloon, candle, jack-o'-lantern, Christmas stocking, maypole, carousel, groom, gown,
    # academic gown, mortarboard, theater curtain
    "celebration": (417, 470, 607, 496, 645, 476, 982, 578, 400, 667, 854),
    "baby": (431, 516, 520, 529, 680, 443, 850),  # bassinet, cradle, crib, diaper, nipple, bib, teddy
    # desk, dining table, couch, four-poster, rocking chair, bookcase, cabinets, lamps, pillow,
    # quilt, kitchen appliances, bathtub, washbasin
    "home": _ids("526 532 831 564 765 453 495 548 598 619 846 721 750 760 651 827 534 859 896 435 493 894"),
    "computer": (620, 527, 508, 664, 782, 673, 590, 713, 742, 681),
}

PARENTS: dict[str, tuple[str, ...]] = {
    "dog": ("animal",),
    "cat": ("animal",),
    "bird": ("animal",),
    "fish": ("animal",),
    "horse": ("animal",),
    "beach": ("water",),
    "car": ("vehicle",),
    "boat": ("vehicle", "water"),
    "aircraft": ("vehicle",),
    "train": ("vehicle",),
    "bicycle": ("vehicle",),
}


def class_tags() -> dict[int, tuple[str, ...]]:
    """For each class index, the tags it counts towards (its own and their parents)."""
    out: dict[int, list[str]] = {}
    for tag, indices in TAG_CLASSES.items():
        for index in indices:
            tags = out.setdefault(index, [])
            for name in (tag, *PARENTS.get(tag, ())):
                if name not in tags:
                    tags.append(name)
    return {index: tuple(tags) for index, tags in out.items()}
