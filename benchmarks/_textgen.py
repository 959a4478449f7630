"""Realistic short memory texts and queries for the benchmarks (fixed seeds).

Names, cities, projects and topic templates are combined with Zipf-like
frequencies so that BM25 and vectors see the term skew of real notes.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from itertools import accumulate

SEED = 20250101

# --------------------------------------------------------------------------- text generator
NAMES = (
    "Alice Bob Carol Dan Erin Frank Grace Heidi Ivan Judy Ken Laura Mallory Nina Oscar Peggy "
    "Quentin Rita Sam Trent Uma Victor Wendy Xavier Yara Zoe Priya Mateo Aiko Lars Fatima Omar "
    "Chen Sofia Jonas Amara Diego Hana Ravi Elena Tomas Ingrid Kofi Leila Marek Nadia Paulo Sven"
).split()
SURNAMES = (
    "Moreno Okafor Lindqvist Tanaka Novak Fischer Haddad Kowalski Brennan Ferreira Nakamura Singh "
    "Dubois Petrov Costa Jensen Rossi Adeyemi Larsen Vargas Kim Schmidt Mendes Ivanova Walsh"
).split()
CITIES = (
    "Berlin Lisbon Toronto Osaka Nairobi Denver Oslo Austin Dublin Seoul Lyon Porto Boston Kyoto "
    "Madrid Warsaw Seattle Prague Zurich Mumbai"
).split()
PROJECTS = (
    "Atlas Falcon Orion Nimbus Cobalt Juniper Helix Quasar Tundra Mosaic Beacon Pioneer Aurora "
    "Vertex Ember Lumen"
).split()
TOPICS: dict[str, list[str]] = {
    "food": "sushi|lasagna|vegan curry|ramen|tacos|oat porridge|falafel|dumplings|paella|pho",
    "drink": "oolong tea|espresso|green tea|oat milk latte|sparkling water|chai|cold brew|cocoa",
    "health": "peanuts|shellfish|gluten|lactose|pollen|penicillin|cat hair|soy",
    "work": "quarterly budget|launch plan|hiring pipeline|design review|incident report|roadmap"
    "|vendor contract|board deck|security audit|customer escalation|sprint retro|OKR draft",
    "tech": "Postgres|Kubernetes|Terraform|React|SQLite|Kafka|Redis|GraphQL|Rust|TypeScript"
    "|Airflow|Grafana|nginx|Docker",
    "bug": "memory leak|timeout on login|flaky test|slow dashboard|broken CSV export|race condition"
    "|wrong currency rounding|missing index|OOM crash|stale cache",
    "hobby": "rock climbing|chess|sourdough baking|trail running|jazz piano|watercolor painting"
    "|birdwatching|salsa dancing|pottery|sailing",
    "travel": "train tickets|hotel booking|visa appointment|flight upgrade|car rental"
    "|conference pass",
    "home": "leaking faucet|new couch|garden shed|solar panels|internet outage|moving boxes",
    "family": "daughter's recital|son's soccer match|anniversary dinner|parents' visit"
    "|dog's vet visit",
}
TOPIC_ITEMS = {k: v.split("|") for k, v in TOPICS.items()}
TIMES = (
    "on Monday|on Tuesday|on Wednesday|on Thursday|on Friday|next week|this weekend|in March"
    "|in April|in June|in September|before the holidays|by end of month|tomorrow morning"
    "|after lunch|at 9am|at 4pm|next quarter"
).split("|")
TEMPLATES: list[tuple[str, str]] = [
    ("drink", "{name} prefers {item} over {item2} in the morning"),
    ("food", "{name} loves {item} but dislikes {item2}"),
    ("food", "Book a table for {item} with {name2} {time} in {city}"),
    ("health", "{name} is allergic to {item}; avoid it at team lunches"),
    ("work", "{name} said the {item} for {project} should be ready {time}"),
    ("work", "Meeting with {name} about the {item} moved to {time}"),
    ("work", "{name} owns the {item} and {name2} reviews it {time}"),
    ("work", "The {item} for project {project} is blocked on {name}'s approval"),
    ("tech", "Decision: {project} will use {item} instead of {item2} for storage"),
    ("tech", "{name} is the go-to person for {item} questions on the {project} team"),
    ("bug", "{name} reported a {item} in {project} after the release {time}"),
    ("bug", "Root cause of the {item} in {project} was a config change by {name2}"),
    ("hobby", "{name} took up {item} last year and practices {time}"),
    ("hobby", "{name} and {name2} go {item} together in {city}"),
    ("travel", "{name} needs {item} for the trip to {city} {time}"),
    ("travel", "{name} will be on vacation in {city} {time}; {name2} covers"),
    ("home", "{name} is dealing with a {item} at home, may be offline {time}"),
    ("family", "{name} leaves early {time} for the {item}"),
    ("work", "{name} lives in {city} and joins calls from there {time}"),
    ("tech", "Remind {name} to upgrade {item} on the {project} servers {time}"),
]
QUERY_TEMPLATES: list[tuple[str, str]] = [
    ("drink", "what does {name} like to drink?"),
    ("food", "{name} favourite food"),
    ("health", "is {name} allergic to anything?"),
    ("work", "when is the {item} due for {project}?"),
    ("work", "who owns the {item}"),
    ("work", "status of {project} {item}"),
    ("tech", "what database does {project} use"),
    ("tech", "who knows about {item}?"),
    ("bug", "what caused the {item} in {project}"),
    ("hobby", "what are {name}'s hobbies"),
    ("travel", "where is {name} travelling {time}"),
    ("travel", "{name} vacation {city}"),
    ("home", "why is {name} offline"),
    ("family", "does {name} have family plans {time}?"),
    ("work", "where does {name} live"),
    ("tech", "upgrade {item} servers"),
]


_WEIGHTS: dict[int, list[float]] = {}


def _zipf(rng: random.Random, items: Sequence[str]) -> str:
    """One of ``items``, the i-th with weight ``1 / (i + 1) ** 0.9`` (a few are frequent)."""
    cum = _WEIGHTS.get(len(items))
    if cum is None:
        cum = _WEIGHTS[len(items)] = list(accumulate(1 / (i + 1) ** 0.9 for i in range(len(items))))
    return rng.choices(items, cum_weights=cum)[0]


DETAILS = (
    " (ticket #{n})| — budget ${n}| (see doc {project}-{n})| in room {n}| (PR #{n})"
    "| — {n} people affected| (order {n})"
).split("|")


def _name(rng: random.Random) -> str:
    first = _zipf(rng, NAMES)
    return f"{first} {_zipf(rng, SURNAMES)}" if rng.random() < 0.3 else first


def _fill(rng: random.Random, topic: str, template: str, detail: float = 0.0) -> str:
    items = TOPIC_ITEMS[topic]
    item = _zipf(rng, items)
    if rng.random() < detail:
        template += rng.choice(DETAILS).replace("{n}", str(rng.randint(10, 99999)))
    return template.format(
        name=_name(rng),
        name2=_name(rng),
        item=item,
        item2=rng.choice([i for i in items if i != item]),
        project=_zipf(rng, PROJECTS),
        city=_zipf(rng, CITIES),
        time=rng.choice(TIMES),
    )


def memory_texts(
    n: int, seed: int = SEED, exclude: set[str] | None = None
) -> list[tuple[str, str]]:
    """``n`` distinct ``(text, topic)`` pairs; the first ``k`` of ``n`` equal those of ``k``."""
    rng, seen, out = random.Random(seed), set(exclude or ()), []
    while len(out) < n:
        topic, template = rng.choice(TEMPLATES)
        text = _fill(rng, topic, template, detail=0.4)
        if text not in seen:
            seen.add(text)
            out.append((text, topic))
    return out


def query_texts(n: int, seed: int = SEED + 7) -> list[str]:
    """``n`` distinct questions in the style of an agent recalling memories."""
    rng, seen, out = random.Random(seed), set(), []
    while len(out) < n:
        topic, template = rng.choice(QUERY_TEMPLATES)
        text = _fill(rng, topic, template)
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out
