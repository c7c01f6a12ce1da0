"""Incremental supplier resolution: which stored mentions new ones can reach, so that a night's
few new names are resolved with their neighbourhood only, with the result a full resolution
would give (`oversight.entities.entities.resolve`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from oversight.entities.entities import Mention, Resolved, _acronyms, _block, resolve
from oversight.entities.names import name_parts

__all__ = ["resolve_incrementally", "incremental_part", "references_within"]


def _features(
    mention: Mention, key: str, aliases: tuple[str, ...], refs: Iterable[str] = ()
) -> set[tuple]:
    """What a mention can be joined on: its numbers, its name key, aliases, compact key and
    fuzzy block, its first word and acronyms, and the contract references it is printed on."""
    out: set[tuple] = {("ref", r) for r in refs}
    if key:
        out |= {("key", key), ("compact", key.replace(" ", "")), ("block", *_block(key))}
        out |= {("first", key.split()[0])} | {("first", a) for a in _acronyms(key)}
        out |= {("key", a) for a in aliases}
        out |= {("compact", a.replace(" ", "")) for a in aliases}
    if mention.company_number:
        out.add(("number", mention.company_number))
    if mention.charity_number:
        out.add(("charity", mention.charity_number))
    return out


def resolve_incrementally(
    previous: dict[Mention, Resolved],
    new: Iterable[Mention],
    fuzzy_threshold: float = 92.0,
    references: Mapping[str, Iterable[Mention]] | None = None,
    prefix: str = "supplier",
    max_share: float = 0.5,
) -> dict[Mention, Resolved]:
    """What `resolve` gives for the previous mentions plus new ones, computed again only
    where the new ones can change it (`incremental_part`); everything again when that part
    is past `max_share` of all mentions. The result equals a full resolution; tests compare
    the two."""
    new = {m for m in new if m not in previous}
    if not new:
        return dict(previous)
    part = incremental_part(previous, new, references, max_share)
    if part is None:
        return resolve([*previous, *new], fuzzy_threshold, prefix=prefix, references=references)[0]
    again, _ = resolve(
        part, fuzzy_threshold, prefix=prefix, references=references_within(references, part)
    )
    return {**{m: r for m, r in previous.items() if m not in part}, **again}


def incremental_part(
    previous: Mapping[Mention, Resolved],
    new: set[Mention],
    references: Mapping[str, Iterable[Mention]] | None = None,
    max_share: float = 0.5,
) -> set[Mention] | None:
    """The mentions that must be resolved again when `new` ones join `previous` ones (where
    each went: its supplier, method, key and aliases are what this reads), or None
    when that part grows past `max_share` of all mentions (new names spread over every block
    chain into most of the rest: a full resolution is then no dearer).

    The part is closed under everything resolution joins on: every previous mention sharing
    a company or charity number, a name key, alias, compact key, fuzzy block, first word or
    contract reference with a new mention, every other mention of the suppliers those belong
    to, and so on until nothing is added. Resolution treats that part exactly as it would
    inside the whole (the same items in the same order, and nothing outside can join them),
    so resolving it alone gives what a full resolution gives it."""
    refs: dict[Mention, list[str]] = defaultdict(list)
    for ref, group in (references or {}).items():
        for m in group:
            refs[m].append(ref)

    def features(m: Mention) -> set[tuple]:  # computed again when needed, not held per mention
        if (r := previous.get(m)) is not None:  # as stored: no name taken apart again
            return (
                set() if r.method == "personal" else _features(m, r.key, r.aliases, refs.get(m, ()))
            )
        parts = name_parts(m.name)
        return _features(m, parts.key, parts.aliases, refs.get(m, ()))

    members: dict[str, list[Mention]] = defaultdict(list)
    for m, r in previous.items():
        members[r.entity_id].append(m)
    index: dict[tuple, list[str]] = defaultdict(list)  # feature -> the suppliers it is on
    for entity, ms in members.items():
        for f in set().union(*(features(m) for m in ms)):
            index[f].append(entity)
    cap = max_share * (len(previous) + len(new))
    part = set(new)
    frontier: set[tuple] = set().union(*(features(m) for m in new))
    seen_features: set[tuple] = set()
    seen_entities: set[str] = set()
    while frontier:
        feature = frontier.pop()
        seen_features.add(feature)
        for entity in index.get(feature, ()):
            if entity in seen_entities:
                continue
            seen_entities.add(entity)
            for x in members[entity]:
                part.add(x)
                frontier |= features(x) - seen_features
        if len(part) > cap:
            return None
    return part


def references_within(
    references: Mapping[str, Iterable[Mention]] | None, part: set[Mention]
) -> dict[str, list[Mention]]:
    """The reference groups as they stand among `part`'s mentions only."""
    return {ref: [m for m in group if m in part] for ref, group in (references or {}).items()}
