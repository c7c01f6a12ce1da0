"""Supplier and buyer resolution on hand-made cases."""

import random

import pytest

from oversight.entities.entities import (
    Mention,
    _covers,
    abbreviates,
    is_personal,
    normalise_buyer,
    normalise_name,
    resolve,
)
from oversight.entities.names import _needs


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("CAPITA BUSINESS SERVICES LTD", "capita business services"),
        ("Capita Business Services Limited", "capita business services"),
        ("Schofield & Sons Ltd", "schofield and sons"),
        ("The Schofield and Sons Limited", "schofield and sons"),
        ("PETER DISPLAYS LTD T/A LIMELIGHT", "peter displays"),
        ("Acme Ltd trading as Zenith", "acme"),
        ("T/A Vizwear Ltd", "vizwear"),
        ("British Telecommunications Public Limited Company", "british telecommunications"),
        ("Bates Office Services LLP", "bates office services"),
        ("AECOM Limied", "aecom"),
        ("1ST CLASS TRAVEL U.K. LTD", "1st class travel uk"),
    ],
)
def test_normalise_name(raw, expected):
    assert normalise_name(raw) == expected


@pytest.mark.parametrize(
    ("raw", "personal"),
    [
        ("REDACTED", True),
        ("Personal Data", True),
        ("Redacted - Personal Information", True),
        ("Mr J Smith", True),
        ("BLOGGS, J", True),
        ("Private Individual", True),
        ("Smith & Sons Ltd", False),
        ("Personal Care Services Ltd", False),
        ("Salford Royal NHS Foundation Trust", False),
    ],
)
def test_personal_payees(raw, personal):
    assert is_personal(raw) is personal


def test_buyer_names():
    assert (
        normalise_buyer("Salford City Council") == normalise_buyer("Salford Council") == "salford"
    )
    resolved, buyers = resolve(
        [
            Mention("Salford City Council"),
            Mention("Salford Council"),
            Mention("SALFORD CITY COUNCIL"),
            Mention("Bolton Council"),
        ],
        normalise=normalise_buyer,
        prefix="buyer",
    )
    assert len(buyers) == 2
    assert (
        resolved[Mention("Salford Council")].entity_id
        == resolved[Mention("SALFORD CITY COUNCIL")].entity_id
    )


def test_near_duplicates_merge_with_method_and_score():
    mentions = [
        Mention("CAPITA BUSINESS SERVICES LTD", "02299747"),
        Mention("Capita Business Services Limited"),
        Mention("Capita Business Services Ltd", "02299747"),
        Mention("Hollins Landscapes Ltd"),
        Mention("Holins Landscapes Limited"),
    ]
    resolved, entities = resolve(mentions, fuzzy_threshold=90)
    capita = {resolved[m].entity_id for m in mentions[:3]}
    assert capita == {"GB-COH-02299747"}
    assert resolved[mentions[0]].method == "identifier"
    assert resolved[mentions[1]].method == "name"
    hollins = resolved[mentions[4]]
    assert hollins.entity_id == resolved[mentions[3]].entity_id
    assert hollins.method == "fuzzy" and 0.9 <= hollins.score < 1.0
    assert len(entities) == 2
    assert entities["GB-COH-02299747"].names == [
        "CAPITA BUSINESS SERVICES LTD",
        "Capita Business Services Limited",
        "Capita Business Services Ltd",
    ]


def test_different_company_numbers_never_merge():
    mentions = [
        Mention("Phoenix Software Ltd", "02548628"),
        Mention("Phoenix Software Limited", "09999999"),
        Mention("PHOENIX SOFTWARE LTD"),  # no number: joins the first it meets, not both
    ]
    resolved, entities = resolve(mentions, fuzzy_threshold=80)
    ids = [resolved[m].entity_id for m in mentions]
    assert ids[0] == "GB-COH-02548628" and ids[1] == "GB-COH-09999999"
    assert ids[2] in ids[:2]
    assert len(entities) == 2


def test_similar_names_with_different_numbers_in_them_stay_apart():
    resolved, entities = resolve(
        [Mention("Unit 4 Business Software Ltd"), Mention("Unit 5 Business Software Ltd")],
        fuzzy_threshold=80,
    )
    assert len(entities) == 2


def test_long_names_differing_by_a_word_stay_apart_but_typos_merge():
    # "(North)" / "Group" score 92+ on long names but name two companies; found when the
    # benchmark's supplier counts disagreed with the pandas baseline's.
    mentions = [
        Mention("Crossfield Plumbing & Heating (North) No. 4 LTD"),
        Mention("Crossfield Plumbing & Heating Group No. 4 Limited"),
        Mention("Crossfield Plumbing & Heatng Group No. 4 Ltd"),
    ]
    resolved, entities = resolve(mentions, fuzzy_threshold=90)
    ids = [resolved[m].entity_id for m in mentions]
    assert ids[0] != ids[1]
    assert ids[1] == ids[2] and resolved[mentions[2]].method == "fuzzy"
    assert len(entities) == 2


def test_redacted_and_personal_payees_are_never_clustered():
    mentions = [
        Mention("REDACTED"),
        Mention("Redacted"),
        Mention("Personal Data"),
        Mention("Mr J Smith"),
        Mention("Mr J Smyth"),
    ]
    resolved, entities = resolve(mentions, fuzzy_threshold=50)
    assert len({r.entity_id for r in resolved.values()}) == 5
    assert all(r.method == "personal" for r in resolved.values())
    assert all(e.is_personal for e in entities.values())


def test_charity_numbers_are_kept_apart_from_company_numbers():
    resolved, entities = resolve(
        [
            Mention("Helping Hands", charity_number="1049226"),
            Mention("Helping Hands Ltd", "01049226"),
            Mention("Helping Hands", charity_number="2222222"),
        ]
    )
    # A charitable company carries both numbers, each in its own field...
    merged = entities[resolved[Mention("Helping Hands Ltd", "01049226")].entity_id]
    assert (merged.company_numbers, merged.charity_numbers) == (["01049226"], ["1049226"])
    # ...but two different charity numbers are two suppliers.
    other = resolved[Mention("Helping Hands", charity_number="2222222")].entity_id
    assert other == "GB-CHC-2222222" and len(entities) == 2


INCREMENTAL_MENTIONS = [
    Mention("Phoenix Software Ltd", "02548628"),
    Mention("Phoenix Software Limited", "09999999"),
    Mention("PHOENIX SOFTWARE LTD"),
    Mention("Phoenix Sofware Ltd"),
    Mention("Capita Business Services Ltd", "02299747"),
    Mention("CAPITA BUSINESS SERVICES LIMITED"),
    Mention("Capita Busness Services"),
    Mention("Capita Resourcing Ltd", "02299747"),
    Mention("Hollins Landscapes Ltd"),
    Mention("Holins Landscapes Limited"),
    Mention("Hollins Landscapes (North) Ltd"),
    Mention("Age UK Calderdale", None, "1095373"),
    Mention("Age UK Calderdale and Kirklees", "04565435", "1095373"),
    Mention("Age UK Calderdale & Kirklees"),
    Mention("REDACTED"),
    Mention("Mr J Smith"),
    Mention("Unit 4 Business Software Ltd"),
    Mention("Unit 4 Busines Software Limited"),
    Mention("Unit 5 Business Software Ltd", "11111111"),
    Mention(None, "02548628"),
]


@pytest.mark.parametrize("seed", range(12))
def test_incremental_resolution_equals_a_full_one(seed):
    import random

    from oversight.entities.incremental import resolve_incrementally

    rng = random.Random(seed)
    mentions = INCREMENTAL_MENTIONS[:]
    rng.shuffle(mentions)
    cut = rng.randrange(1, len(mentions))
    old, new = mentions[:cut], mentions[cut:]
    full, _ = resolve(mentions, fuzzy_threshold=90)
    previous, _ = resolve(old, fuzzy_threshold=90)
    for cap in (1.0, 0.5, 0.0):  # the closure alone, the default, straight to a full one
        assert resolve_incrementally(previous, new, fuzzy_threshold=90, max_share=cap) == full
    assert resolve_incrementally(full, [], fuzzy_threshold=90) == full


def test_incremental_resolution_resolves_the_closure_then_everything_past_its_cap(monkeypatch):
    from oversight.entities import incremental as ent

    sizes = []
    real = ent.resolve
    monkeypatch.setattr(
        ent, "resolve", lambda ms, *a, **k: sizes.append(len(set(ms))) or real(ms, *a, **k)
    )
    previous, _ = real(INCREMENTAL_MENTIONS, fuzzy_threshold=90)
    new = [Mention("Zebra Crossings Ltd")]  # shares no number, block or word with the rest
    ent.resolve_incrementally(previous, new, fuzzy_threshold=90)
    assert sizes == [1]
    sizes.clear()
    ent.resolve_incrementally(previous, new, fuzzy_threshold=90, max_share=0.0)
    assert sizes == [len(set(INCREMENTAL_MENTIONS)) + 1]


# Real-file classes of mess, with invented names of the same shape (real names are read from
# ../shared at test time in tests/test_label_eval.py and tests/test_payees.py).
@pytest.mark.parametrize(
    ("printed", "same_as"),
    [
        # a fixed-width cut, mid-word, and a cut legal form
        ("Northfield Family Support Servi", "Northfield Family Support Services Ltd"),
        ("Northfield Family Support Solutions Lt", "Northfield Family Support Solutions Ltd"),
        # decorations: a site after '#', a dash, a description after the legal form
        ("Lifeways Community Care#Albion Mews", "Lifeways Community Care Ltd"),
        ("Community Integrated Care - Cheshire", "Community Integrated Care"),
        ("Neopost Ltd = Consumable items (Inks, Lables etc)", "NEOPOST LIMITED"),
        ("Max Potential UK Limited-Glen Avenue", "Max Potential UK Ltd"),
        # a bracket of the name's initials, words split or joined
        ("Electoral Reform Services (ERS) Limited", "Electoral Reform Services Ltd"),
        ("Mds Mini Buses", "MDS Minibuses Ltd"),
        # abbreviations: initials of a run of words, a word prefix, NHS FT
        ("Gmw Mental Health NHS FT", "Greater Manchester West Mental Health NHS Foundation Trust"),
        ("Freight Transport Assoc Ltd", "Freight Transport Association"),
        # a parent in brackets; a legal and a trading name swapped
        ("Pontville School (Part of Witherslack Group)", "Witherslack Group Limited"),
        (
            "SureCare Bolton#Sakinas Healthcare Limited",
            "Sakinas Healthcare Ltd T/A SureCare Bolton",
        ),
    ],
)
def test_truncated_decorated_and_abbreviated_names_resolve(printed, same_as):
    resolved, entities = resolve([Mention(printed), Mention(same_as)])
    assert len(entities) == 1, (printed, same_as, resolved)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        # a bracket inside the legal name is part of it (two Companies House entities)
        ("Electricity North West (Construction & Maintenance) Ltd", "Electricity North West Ltd"),
        ("Hollins Building Contractors (Yorkshire) Ltd", "Hollins Building Contractors Ltd"),
        # ... also with more of the name after the bracket
        ("Hollins Homes (Yorkshire) No. 2 Limited", "Hollins Homes (Midlands) No. 2 Limited"),
        # a trading name alone does not join: sister companies share them
        ("Voyage 1 Limited Trading As Voyage Care", "Voyage Care"),
        # a word prefix is not a truncation unless the name is long enough to have been cut
        ("Direct Health (UK) Ltd", "Direct Healthcare Group Limited"),
        ("Oldham Care", "Oldham Care Services"),
    ],
)
def test_names_that_look_alike_but_are_two_suppliers(a, b):
    _, entities = resolve([Mention(a), Mention(b)])
    assert len(entities) == 2


def test_a_cut_name_with_two_candidates_is_left_alone():
    resolved, entities = resolve(
        [
            Mention("Northfield Family Support Servi"),
            Mention("Northfield Family Support Services Ltd"),
            Mention("Northfield Family Support Servicing Ltd", "12345678"),
            Mention("Northfield Family Support Services Ltd", "87654321"),
        ]
    )
    assert resolved[Mention("Northfield Family Support Servi")].method == "single"


def test_one_number_printed_against_two_dissimilar_names_is_a_conflict_not_a_merge():
    mentions = [
        Mention("Scottish & Southern Electric", "00117119"),
        Mention("Scottish & Southern Elec", "00117119"),  # agrees: a word cut short
        Mention("Scottish and Southern Electric plc", "00117119"),
        Mention("Gazprom Energy", "00117119"),  # a register's slip
        Mention("Gazprom Energy"),
    ]
    resolved, entities = resolve(mentions)
    sse = resolved[mentions[0]].entity_id
    assert sse == "GB-COH-00117119"
    assert resolved[mentions[2]].entity_id == sse
    gazprom = resolved[mentions[3]]
    assert gazprom.entity_id != sse and gazprom.conflict == "00117119"
    assert resolved[mentions[4]].entity_id == gazprom.entity_id  # by its name
    assert len(entities) == 2


def test_numbers_one_character_apart_join_only_on_a_reference_or_an_equal_name():
    a = Mention("Acme Highways Ltd", "SG298533")
    b = Mention("ACME HIGHWAYS LIMITED", "SC298533")  # equal normalised name: a typo
    resolved, entities = resolve([a, b])
    assert len(entities) == 1 and resolved[b].entity_id == resolved[a].entity_id
    c = Mention("Acme Roads Ltd", "SG298533")
    d = Mention("Acme Highway Maintenance", "SC298533")  # different names, no reference
    _, entities = resolve([c, d])
    assert len(entities) == 2
    _, entities = resolve([c, d], references={"reg CR-17": [c, d]})  # one contract reference
    assert len(entities) == 1
    e = Mention("Acme Roads Ltd", "SC298534")  # two characters apart: never
    _, entities = resolve([c, e], references={"reg CR-17": [c, e]})
    assert len(entities) == 2


@pytest.mark.parametrize(
    ("name", "numbers", "expected"),
    [
        ("NHS Salford CCG", (None, None), "public_body"),
        ("Gmw Mental Health NHS FT", (None, None), "public_body"),
        ("Greater Manchester Pension Fund", (None, None), "public_body"),
        ("Bolton Metropolitan Borough Council", (None, None), "public_body"),
        ("Capita Business Services Ltd", (None, None), "company"),
        ("Vodafone", ("01471587", None), "company"),
        ("Helping Hands", (None, "1049226"), "charity"),
        ("Vodafone", (None, None), "unknown"),
        ("J R PLUMBING", (None, None), "sole_trader"),
        ("A B Scaffolding", (None, None), "sole_trader"),
        ("Dr Patel & Partners", (None, None), "sole_trader"),
        ("Redacted - Personal Data#T/A Northfield Music", (None, None), "sole_trader"),
        ("Redacted - Personal Data#2", (None, None), "redacted"),
        ("Redacted - Personal Data#12", (None, None), "redacted"),
        ("Mr J Smith", (None, None), "individual"),
        ("SMITH, J", (None, None), "individual"),
        ("REDACTED", (None, None), "redacted"),
        ("THIRD PARTY SUPPLIER", (None, None), "redacted"),
        ("Grosvenor Guest House#Redacted - Personal Data", (None, None), "unknown"),
    ],
)
def test_payee_classes_from_evidence(name, numbers, expected):
    from oversight.entities.payees import classify

    assert classify(name, *numbers).payee_class == expected


def test_a_digit_slipped_into_a_number_is_a_typo_with_an_equal_name():
    # Salford's register prints Schofield and Sons' 02459259 as 25459259 on most rows.
    a = Mention("Schofield and Sons Ltd", "02459259")
    b = Mention("Schofield & Sons Ltd", "25459259")
    resolved, entities = resolve([a, b])
    assert len(entities) == 1
    c = Mention("Schofield Roofing Ltd", "25459259")  # another name: no
    _, entities = resolve([a, c])
    assert len(entities) == 2


def _abbreviation_pairs(rng: random.Random, n: int) -> list[tuple[str, str]]:
    """(short, long) pairs of normalised names: each long name of words drawn from a small
    vocabulary (with "and", "of", "uk", "gb" and numbers, the words the search treats
    specially); each short made from it as abbreviations are (words kept, cut to a prefix,
    runs replaced by their initials, the end cut or dropped) or drawn at random."""
    vocabulary = [
        "greater", "manchester", "west", "mental", "health", "nhs", "foundation", "trust",
        "freight", "transport", "association", "assoc", "and", "of", "the", "uk", "gb", "no",
        "2", "3", "care", "services", "servi", "group", "north", "gmw", "gm", "mh", "ft",
    ]  # fmt: skip
    pairs = []
    for _ in range(n):
        long = [rng.choice(vocabulary) for _ in range(rng.randint(2, 8))]
        short: list[str] = []
        i = 0
        while i < len(long):
            move = rng.random()
            if move < 0.5:
                short.append(long[i])
            elif move < 0.65:
                short.append(long[i][: rng.randint(1, len(long[i]))])
            elif move < 0.8:
                k = rng.randint(2, 4)
                short.append("".join(w[0] for w in long[i : i + k] if w not in ("and", "of")))
                i += k - 1
            elif move < 0.9:
                break  # the rest dropped (cut, or trailing words left over)
            else:
                short.append(rng.choice(vocabulary))
            i += 1
        if rng.random() < 0.2:
            short = [rng.choice(vocabulary) for _ in range(rng.randint(1, 5))]
        pairs.append((" ".join(w for w in short if w), " ".join(long)))
    return pairs


def test_the_quick_tests_before_the_abbreviation_search_never_turn_a_match_away():
    """`abbreviates` rejects most pairs before searching; on 200,000 generated pairs (and the
    real shapes above) its answer equals the search's alone, and some pairs do match."""
    rng = random.Random(7)
    pairs = _abbreviation_pairs(rng, 200_000) + [
        ("gmw mental health nhs ft", "greater manchester west mental health nhs foundation trust"),
        ("freight transport assoc", "freight transport association"),
        ("northfield family support servi", "northfield family support services"),
        ("north care services uk", "north care services"),
        ("north care services", "north care services uk gb"),
    ]
    matched = 0
    for short, long in pairs:
        a, b = tuple(short.split()), tuple(long.split())
        searched = bool(
            a and a != b and any(len(w) >= 4 and w in b for w in a) and _covers(a, b, len(short))
        )
        assert abbreviates(short, long) == searched, (short, long)
        matched += searched
    assert matched > 1_000


@pytest.mark.parametrize(
    ("pattern", "needs"),
    [
        (r"\bcouncil\b", ("council",)),
        (r"crown (prosecution|commercial)", ("prosecution", "commercial")),
        (r"hospitals?\b.*\btrust\b", ("hospital",)),  # the longest plain run
        (r"\bnhs(ft|t)?\b", ("nhs",)),  # an optional group needs nothing
        (r"(ab)+c", ("ab",)),  # a repeat of at least one needs its own strings
        (r"x*(?=y)", None),  # nothing certain: always searched
        (r"(?i)council", None),  # case-blind: a lower-case string is no test
        (r"(ab|cd)e", ("ab", "cd")),
        (r"(a|b)c", ("c",)),  # one-letter alternatives are parsed as a class
    ],
)
def test_strings_a_pattern_needs(pattern, needs):
    """`names._needs`: strings one of which every match contains, so that a name holding none
    of them is not searched with that pattern."""
    assert _needs(pattern) == needs
