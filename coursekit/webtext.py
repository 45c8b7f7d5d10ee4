"""The world's web text: blog posts, reviews and news about artists and songs.

The Echo Nest crawled what people wrote about music and read off which
adjectives, phrases and other artists came up around each artist. The music
world needs a corpus like that, so this module writes one: real English
sentences from templates, filled from

* each genre's **text signature** (:data:`GENRE_VOCABULARY`): adjectives
  ("perky", "sugary"), scenes ("disco era", "warehouse rave"), eras ("the
  seventies"), instruments and moods; every artist leans on its own favourite
  part of its genre's vocabulary;
* a few **signature words** per artist (2 to 4 adjectives and phrases such as
  "wistful" or "tape hiss") that writers keep coming back to, so that artists
  of the same genre can be told apart;
* the artist's **songs**, named by title in double quotes;
* the artists it truly resembles ("fans of X will love this", "recalls the
  early records of Y"), the signal the Echo Nest used;
* its home town, the country's adjective ("Swedish") and the decade it started;
* shared music vocabulary ("record", "chorus", "great"), which every genre
  uses and which term weighting should push down.

About a quarter of blog posts keep some HTML markup (``<p>``, ``<b>``,
``&amp;``), as crawled text does.

The world generator (:mod:`coursekit.world`) calls :func:`write_documents`;
the text model of chapter 03 (:mod:`coursekit.text`) reads its output.
"""

from __future__ import annotations

import random
import re

import numpy as np
import pandas as pd

__all__ = ["GENRE_VOCABULARY", "GENERIC_VOCABULARY", "SIGNATURE_ADJECTIVES", "SIGNATURE_PHRASES",
           "DEMONYMS", "DOCUMENT_COLUMNS", "demonym", "write_documents"]

#: Columns of the table :func:`write_documents` returns, in order.
DOCUMENT_COLUMNS = ("doc_id", "artist_id", "track_id", "kind", "text")


def _words(s: str) -> tuple[str, ...]:
    return tuple(w.strip() for w in s.split(",") if w.strip())


#: Text signature of each genre: adjectives, scenes (noun phrases), eras,
#: instruments and moods. Each entry is a comma-separated list.
GENRE_VOCABULARY: dict[str, dict[str, tuple[str, ...]]] = {
    "pop": {
        "adj": _words("perky, glossy, bubbly, sugary, breezy, bouncy, radiant, jaunty, upbeat, sunny, "
                      "jubilant, playful, gleeful, silky, infectious, sparkling, sweet, cheerful, giddy, "
                      "jolly, romantic, nonviolent, wholesome, chirpy, shiny, airy"),
        "scene": _words("disco era, dance floor, summer radio, pop charts, karaoke night, music video, "
                        "boy band, girl group, teen idol, stadium singalong, synth hook, key change, "
                        "love song, radio edit, talent show"),
        "era": _words("the disco era, the eighties, the early noughties, the MTV years, the seventies"),
        "inst": _words("synthesizer, drum machine, piano, string section, backing vocals, falsetto"),
        "mood": _words("joy, heartbreak, romance, first love, summer nights, nostalgia"),
    },
    "rock": {
        "adj": _words("raw, gritty, loud, twangy, fuzzy, scrappy, rugged, brash, ragged, rough, "
                      "rowdy, sweaty, bluesy, grimy, muscular, punchy, noisy, crunchy, defiant, "
                      "rebellious, reckless, unruly, wiry, bruising, volatile, greasy"),
        "scene": _words("basement show, garage band, guitar solo, dive bar, pub circuit, college radio, "
                        "festival stage, punk scene, arena tour, feedback squall, rock club, power trio, "
                        "tour van, sold-out show"),
        "era": _words("the sixties, the seventies, the punk years, the grunge era, the nineties"),
        "inst": _words("electric guitar, bass guitar, drum kit, Hammond organ, fuzz pedal, "
                       "twelve-string guitar"),
        "mood": _words("rebellion, restlessness, youth, frustration, escape, boredom"),
    },
    "hip hop": {
        "adj": _words("lyrical, witty, boastful, gutsy, laid-back, jazzy, soulful, menacing, "
                      "urgent, clever, sharp, smooth, hypnotic, slick, cinematic, political, "
                      "relentless, dusty, heady, funky, lurid, conscious, introspective, gritty, "
                      "hungry, unapologetic"),
        "scene": _words("block party, cypher, mixtape, boom bap, trap beat, sample flip, freestyle, "
                        "battle rap, street corner, open mic, guest verse, radio freestyle, drum break, "
                        "crate digging"),
        "era": _words("the golden age, the nineties, the mixtape era, the trap era, the early eighties"),
        "inst": _words("turntables, sampler, drum machine, bass line, vinyl crackle, 808 drums"),
        "mood": _words("ambition, hustle, grief, pride, survival, the neighbourhood"),
    },
    "electronic": {
        "adj": _words("glassy, icy, futuristic, minimal, cosmic, lunar, tranquil, lush, mechanical, "
                      "euphoric, repetitive, grainy, metallic, sonic, murky, deep, modular, propulsive, "
                      "sleek, cerebral, nocturnal, clinical, pristine, robotic, crystalline, hypnotic"),
        "scene": _words("warehouse rave, club night, peak time, after party, acid line, breakdown, "
                        "sound system, techno scene, festival tent, late-night set, dance floor, "
                        "white label, remix, strobe light"),
        "era": _words("the rave era, the early nineties, the acid house years, the second summer of love"),
        "inst": _words("modular synth, sequencer, drum machine, arpeggiator, sampler, vocoder"),
        "mood": _words("euphoria, dawn, isolation, the city at night, motion, release"),
    },
    "jazz": {
        "adj": _words("smoky, slinky, languid, supple, elegant, sophisticated, mellow, modal, "
                      "angular, adventurous, lyrical, intimate, cool, sultry, nimble, loose, spiritual, "
                      "brassy, velvety, husky, sly, swanky, brisk, harmonic, bluesy, urbane"),
        "scene": _words("jazz club, late set, smoky lounge, big band, rhythm section, walking bass, "
                        "jam session, bebop, horn section, piano trio, call and response, standards, "
                        "after-hours session, solo"),
        "era": _words("the bebop years, the fifties, the swing era, the hard bop era, the sixties"),
        "inst": _words("tenor saxophone, upright bass, trumpet, Rhodes piano, brushed snare, vibraphone, "
                       "clarinet, flugelhorn"),
        "mood": _words("longing, late nights, the city, reflection, freedom, the blues"),
    },
    "folk": {
        "adj": _words("earthy, rustic, acoustic, pastoral, homespun, weary, plaintive, wistful, hearty, "
                      "wintry, sparse, gentle, heartfelt, mournful, honest, traditional, warm, "
                      "unadorned, hushed, bucolic, timeless, lilting, humble, windswept, intimate"),
        "scene": _words("campfire song, coffee house, front porch, village hall, folk revival, "
                        "murder ballad, sea shanty, harmony singing, kitchen session, protest song, "
                        "open road, small town, barn dance, folk club"),
        "era": _words("the folk revival, the sixties, the Laurel Canyon years, the dust bowl era"),
        "inst": _words("acoustic guitar, banjo, fiddle, mandolin, harmonica, accordion, dulcimer, "
                       "pedal steel"),
        "mood": _words("home, loss, the seasons, the land, memory, leaving"),
    },
    "metal": {
        "adj": _words("heavy, venomous, brutal, thunderous, ferocious, savage, sinister, apocalyptic, dark, "
                      "vicious, torrid, monolithic, gloomy, grim, technical, mighty, aggressive, "
                      "furious, infernal, thick, ominous, colossal, frosty, bleak, visceral, "
                      "morbid"),
        "scene": _words("mosh pit, circle pit, blast beat, guitar riff, power chord, headbanging crowd, "
                        "death growl, battle jacket, black metal scene, wall of sound, double bass drum, "
                        "metal festival, breakdown"),
        "era": _words("the eighties, the thrash years, the new wave of British heavy metal, "
                      "the nineties underground"),
        "inst": _words("seven-string guitar, double kick, bass drum, distortion pedal, down-tuned guitars"),
        "mood": _words("war, doom, the apocalypse, rage, winter, darkness"),
    },
    "classical": {
        "adj": _words("majestic, stately, regal, refined, contemplative, austere, romantic, ornate, "
                      "solemn, graceful, luminous, serene, dramatic, sublime, meticulous, sonorous, "
                      "baroque, operatic, delicate, expansive, choral, symphonic, intricate, "
                      "transcendent, noble, elegant"),
        "scene": _words("concert hall, string quartet, chamber orchestra, piano sonata, slow movement, "
                        "opening movement, symphony orchestra, recital hall, song cycle, conservatory, "
                        "opera house, standing ovation, second movement, chamber music"),
        "era": _words("the baroque period, the romantic era, the twentieth century, the classical period"),
        "inst": _words("grand piano, cello, violin, harpsichord, string section, French horn, oboe, "
                       "pipe organ"),
        "mood": _words("grief, faith, grandeur, stillness, the sea, devotion"),
    },
}

#: Words every genre's writers use; salience weighting should push them down.
GENERIC_VOCABULARY: dict[str, tuple[str, ...]] = {
    "adj": _words("new, great, good, beautiful, brilliant, memorable, strong, fresh, excellent, "
                  "wonderful, impressive, stunning, solid, fine, lovely, remarkable"),
    "best": _words("best, finest, strongest, most exciting, most confident"),
    "noun": _words("record, album, song, chorus, production, melody, voice, songwriting, sound, "
                   "arrangement, single"),
    "month": _words("January, February, March, April, May, June, July, August, September, October, "
                    "November, December"),
    "day": _words("Monday, Tuesday, Wednesday, Thursday, Friday"),
    "season": _words("spring, summer, autumn, winter"),
}

#: Pool of personal signature adjectives: each artist gets one or two.
SIGNATURE_ADJECTIVES = _words(
    "eerie, bittersweet, feverish, misty, woozy, hazy, jittery, spectral, sombre, "
    "zany, theatrical, eccentric, whimsical, woeful, cathartic, lofty, tense, "
    "unhurried, brittle, stark, opulent, moody, skeletal, tangled, sun-bleached, ghostly, fiery, "
    "tipsy, cryptic, mischievous, nostalgic, drowsy, jagged, elastic, dizzy, frantic, "
    "cavernous, spooky, loopy, shaky, lopsided, quirky, sordid, starry-eyed, dusky, sleazy, "
    "restless, ornery, heavenly, stormy, volcanic, rickety, immaculate, lavish, wry, vivid, "
    "sleepy, neon-lit, frayed, vibrant")

#: Pool of personal signature phrases (noun phrases): each artist gets one or two.
SIGNATURE_PHRASES = _words(
    "tape hiss, whistled hooks, spoken-word interludes, handclaps, glockenspiel, cowbell, "
    "field recordings, children's choir, talk box, brass stabs, twin vocals, sea imagery, night drives, "
    "ghost stories, kitchen-sink lyrics, falsetto harmonies, string arrangements, a toy piano, "
    "detuned synths, gang vocals, slide guitar, a theremin, steel drums, a church organ, "
    "bird song samples, radio static, sleigh bells, a drum loop, a harpsichord, choral swells, "
    "a horn section, a drum circle, dream imagery, train songs, desert imagery, a wah pedal, "
    "pitch-shifted vocals, a mellotron, hand drums, a music box, breathy vocals, long instrumental codas, "
    "a vocoder, a kazoo, rain sounds, a string quartet, call-and-response vocals, a marching band, "
    "a vintage drum machine, a baritone voice")

#: Adjective for each country of :data:`coursekit.names.ORIGINS` ("Sweden" → "Swedish").
DEMONYMS: dict[str, str] = {
    "Sweden": "Swedish", "England": "English", "Scotland": "Scottish", "Ireland": "Irish",
    "France": "French", "Germany": "German", "Norway": "Norwegian", "Iceland": "Icelandic",
    "Finland": "Finnish", "Denmark": "Danish", "the Netherlands": "Dutch", "Netherlands": "Dutch",
    "Spain": "Spanish", "Portugal": "Portuguese", "Italy": "Italian", "the United States": "American",
    "United States": "American", "Canada": "Canadian", "Mexico": "Mexican", "Brazil": "Brazilian",
    "Argentina": "Argentine", "Nigeria": "Nigerian", "South Africa": "South African",
    "Japan": "Japanese", "South Korea": "Korean", "Australia": "Australian",
    "New Zealand": "New Zealand", "Belgium": "Belgian", "Poland": "Polish", "Greece": "Greek",
    "Austria": "Austrian", "Switzerland": "Swiss", "India": "Indian", "China": "Chinese",
    "Jamaica": "Jamaican", "Cuba": "Cuban", "Colombia": "Colombian", "Chile": "Chilean",
}

_DECADES = {1950: "the fifties", 1960: "the sixties", 1970: "the seventies", 1980: "the eighties",
            1990: "the nineties", 2000: "the noughties", 2010: "the twenty-tens", 2020: "the twenties"}


def demonym(country: str) -> str:
    """The adjective for a country: ``demonym("Sweden") == "Swedish"``.

    Countries not in :data:`DEMONYMS` fall back to ``"local"``.
    """
    return DEMONYMS.get(str(country).strip(), "local")


# --------------------------------------------------------------------------------------------
# Templates. Fields: A artist, T/T2 quoted song titles, S/S2 similar artists, adj/adj2/adj3 genre
# adjectives, scene/scene2, era, inst/inst2, mood/mood2, sadj/snp signature adjective / phrase,
# gadj generic adjective, best, noun/noun2, genre, dem (demonym), city, country, year, decade,
# month, day, season. Verbs avoid number agreement (past tense, modals) since an act may be a
# band or one person.

_OPEN = {
    ("blog", False): [
        "I have had {A} on repeat all week.",
        "If you have not heard {A} yet, start here.",
        "Every so often a {genre} act comes along that sounds {gadj} and {adj} at the same time, and "
        "this year it is {A}.",
        "A friend sent me a link to {A} last night and I have not stopped listening since.",
        "{A} might be the most {sadj} thing to come out of {city} in years.",
        "Quick post today, because {A} deserve more ears.",
        "Some music just sounds like {era}, and {A} made me feel that all over again.",
        "Confession: I am completely obsessed with {A}.",
    ],
    ("review", False): [
        "The new record from {A} is {adj} and {adj2}, and it is their {best} work so far.",
        "On their latest album, {A} sounded more {adj} than ever.",
        "Few {dem} acts make {genre} as {adj} as {A}.",
        "{A} made a {adj}, {sadj} album, and it rewards close listening.",
        "Ten songs, forty minutes, and not a wasted second: {A} delivered.",
        "It took {A} three years to follow up their debut, and the wait was worth it.",
    ],
    ("news", False): [
        "{A}, the {dem} {genre} act from {city}, announced a new album on {day}.",
        "{A} will play a run of shows across {country} this {season}, the {city} act confirmed this week.",
        "The {city} {genre} act {A} signed with a new label this week.",
        "{A} will headline a show in {city} in {month}.",
        "Tickets for the {season} tour by {A} went on sale on {day}.",
        "{A} shared details of a new album, due in {month}.",
    ],
    ("blog", True): [
        "Today's song of the day is \"{T}\" by {A}.",
        "I cannot stop playing \"{T}\", the {adj} new single from {A}.",
        "\"{T}\" by {A} has been stuck in my head since {day}.",
        "Put on \"{T}\" by {A} and tell me it is not {adj}.",
        "{A} just dropped \"{T}\" and it is {gadj}.",
    ],
    ("review", True): [
        "\"{T}\" is the {adj} centrepiece of the new record from {A}.",
        "{A} opened the album with \"{T}\", a {adj}, {adj2} song about {mood}.",
        "The single \"{T}\" found {A} at their most {adj}.",
        "\"{T}\" might be the most {sadj} song {A} ever wrote.",
        "With \"{T}\", {A} made a {adj} {genre} song that sounds like {era}.",
    ],
    ("news", True): [
        "{A} released \"{T}\", the first single from a forthcoming album, on {day}.",
        "\"{T}\", the new single by {A}, premiered on {city} radio this morning.",
        "{A} shared a video for \"{T}\" on {day}.",
        "The {dem} act {A} returned this week with \"{T}\".",
    ],
}

# Genre-heavy body sentences, usable in every document.
_BODY = [
    "The {inst} is {adj} and {adj2}, and the {scene} never feels far away.",
    "It sounds like {era} filtered through a {adj} {scene}.",
    "The production is {adj} without ever feeling {adj2}.",
    "At its best, the music is {adj}, {adj2} and {sadj}.",
    "The {inst} carries most of the weight, {adj} and {adj2} over a {adj3} rhythm.",
    "Live, these songs turn into a {adj} {scene}.",
    "The lyrics deal with {mood} and {mood2}.",
    "This is {adj} {genre} with a {gadj} heart.",
    "Nobody else in {city} makes {genre} this {adj}.",
    "The whole thing nods to {era} without sounding dated.",
    "Think of a {scene} in {era}, then make it {adj}.",
    "There is a lot of {inst} here, and a lot of {inst2}.",
    "Every song pairs {adj} {inst} with a {adj2} {noun}.",
    "The {dem} {genre} scene has rarely sounded so {adj}.",
    "The band behind the voice is {adj} and {adj2}, with the {inst} up front.",
    "It is a record about {mood}, and it is {adj} from start to finish.",
    "The {noun} is {gadj}, but the {adj} {inst} is what stays with you.",
    "Somewhere between a {scene} and a {scene2}, the songs find a {adj} groove.",
    "It is {adj}, it is {adj2}, and it is never boring.",
    "The last song is {adj} and {adj3}, a {gadj} way to close.",
]

# Sentences built on the artist's personal signature.
_SIGNATURE = [
    "There is a {sadj} quality to the songwriting that sets {A} apart.",
    "Critics keep calling the music {sadj}, and for once the word fits.",
    "You can hear {snp} all over the record.",
    "Expect {snp}, {adj} {inst} and a {gadj} chorus.",
    "As always with {A}, you get {snp}, and it all sounds {sadj}.",
    "People remember {A} for {snp}.",
    "{A} still sounded {sadj}, and you still get {snp}.",
    "It is {sadj} and {adj}, full of {snp}.",
    "Nobody does {snp} quite like {A}.",
]

# Sentences that name similar artists (the signal the Echo Nest used).
_SIMILAR = [
    "Fans of {S} will love this.",
    "It recalls the early records of {S}.",
    "Think {S} meets {S2} at a {scene}.",
    "If you liked {S} or {S2}, this is for you.",
    "{A} toured with {S} last year, and you can hear why.",
    "The obvious comparison is {S}, but {A} sounded more {adj}.",
    "It sits somewhere between {S} and {S2}.",
    "{A} shared a bill with {S} at a {scene} in {city}.",
    "Anyone who grew up on {S} will feel at home here.",
]

# Sentences about the artist's history.
_HISTORY = [
    "Formed in {city} in {year}, {A} have been making {adj} {genre} ever since.",
    "{A} started out in {city} in {decade}.",
    "Since {year}, {A} kept {city} on the map of {dem} {genre}.",
    "{A} came up in the {city} scene of {decade}.",
]

# Sentences about one song (track documents).
_TRACK = [
    "\"{T}\" opens with {snp} before the {inst} comes in.",
    "The chorus of \"{T}\" is {adj} in the best way.",
    "Halfway through, \"{T}\" turns {adj} and {adj2}.",
    "\"{T}\" could soundtrack a {scene}.",
    "The video for \"{T}\" shows a {adj} {scene}.",
    "On \"{T}\", the {inst} sounds {adj}.",
    "\"{T}\" is {sadj}, {adj} and over in three minutes.",
]

# Sentences naming songs in artist documents.
_SONGS = [
    "Standouts include \"{T}\" and \"{T2}\".",
    "Start with \"{T}\", then go back to \"{T2}\".",
    "\"{T}\" is the {adj} one; \"{T2}\" is the one you will play again.",
    "The set closed with \"{T}\".",
]

_CLOSE = {
    "blog": ["Listen below.", "More soon.", "Turn it up.", "You can thank me later.",
             "Go and listen."],
    "review": ["Rating: 8/10.", "Rating: 7/10.", "Rating: 9/10.", "Recommended.",
               "Essential listening."],
    "news": ["Tickets go on sale on {day}.", "The album is out in {month}.",
             "More dates will follow."],
}

_FIELD = re.compile(r"\{(\w+)\}")
_ARTICLE = re.compile(r"\b([Aa]) (?=[\"]?[aeiouAEIOU])")
_NSENT = {"blog": (2, 8), "review": (2, 7), "news": (1, 4)}


def _compile(templates):
    """Template -> (template, {base field: [fields]}), so each fill draws only what it needs."""
    out = []
    for t in templates:
        fields = list(dict.fromkeys(_FIELD.findall(t)))
        groups: dict[str, list[str]] = {}
        for f in fields:
            groups.setdefault(f.rstrip("0123456789"), []).append(f)
        out.append((t, groups))
    return out


_C_OPEN = {k: _compile(v) for k, v in _OPEN.items()}
_C_BODY, _C_SIG, _C_SIM = _compile(_BODY), _compile(_SIGNATURE), _compile(_SIMILAR)
_C_HIST, _C_TRACK, _C_SONGS = _compile(_HISTORY), _compile(_TRACK), _compile(_SONGS)
_C_CLOSE = {k: _compile(v) for k, v in _CLOSE.items()}

_REQUIRED_ARTIST_COLUMNS = ("artist_id", "name", "genre", "origin", "active_since")
_REQUIRED_TRACK_COLUMNS = ("track_id", "artist_id", "title")


def _check(artists, tracks, similar_artists, n_docs):
    for frame, name, cols in ((artists, "artists", _REQUIRED_ARTIST_COLUMNS),
                              (tracks, "tracks", _REQUIRED_TRACK_COLUMNS)):
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise ValueError(f"{name} is missing column(s) {missing}")
    if not isinstance(similar_artists, dict):
        raise TypeError(f"similar_artists must be a dict artist_id -> list of artist ids, "
                        f"got {type(similar_artists).__name__}")
    n_docs = np.asarray(n_docs)
    if n_docs.shape != (len(artists),):
        raise ValueError(f"n_docs must have one entry per artist ({len(artists)}), got shape {n_docs.shape}")
    if n_docs.size and not np.issubdtype(n_docs.dtype, np.integer):
        if not np.all(np.isfinite(n_docs)) or not np.all(n_docs == np.round(n_docs)):
            raise ValueError("n_docs must hold whole numbers of documents")
    if n_docs.size and n_docs.min() < 0:
        raise ValueError(f"n_docs must be non-negative, got minimum {n_docs.min()}")
    unknown = sorted(set(artists["genre"]) - set(GENRE_VOCABULARY))
    if unknown:
        raise ValueError(f"artists has genre(s) without a text vocabulary: {unknown}; "
                         f"known: {sorted(GENRE_VOCABULARY)}")
    return n_docs.astype(np.int64)


class _Pick:
    """Draws with replacement from a weighted list (an artist's favourite words)."""

    __slots__ = ("items", "cum")

    def __init__(self, items, weights):
        self.items = list(items)
        self.cum = list(np.cumsum(weights))

    def sample(self, py: random.Random, k: int) -> list[str]:
        if k == 1 or len(self.items) < k:
            return py.choices(self.items, cum_weights=self.cum, k=k)
        out: list[str] = []
        for _ in range(8 * k):
            (w,) = py.choices(self.items, cum_weights=self.cum, k=1)
            if w not in out:
                out.append(w)
                if len(out) == k:
                    break
        while len(out) < k:
            out.append(py.choice(self.items))
        return out


class _Uniform:
    __slots__ = ("items",)

    def __init__(self, items):
        self.items = list(items)

    def sample(self, py: random.Random, k: int) -> list[str]:
        if len(self.items) >= k:
            return py.sample(self.items, k)
        return [py.choice(self.items) for _ in range(k)]


_GENERIC = {"gadj": _Uniform(GENERIC_VOCABULARY["adj"]), "best": _Uniform(GENERIC_VOCABULARY["best"]),
            "noun": _Uniform(GENERIC_VOCABULARY["noun"]), "month": _Uniform(GENERIC_VOCABULARY["month"]),
            "day": _Uniform(GENERIC_VOCABULARY["day"]), "season": _Uniform(GENERIC_VOCABULARY["season"])}


def _artist_profile(row, titles, similar_names, rng: np.random.Generator) -> dict:
    """Everything the templates need about one artist: pools to draw from and fixed facts."""
    vocab = GENRE_VOCABULARY[row.genre]
    origin = str(row.origin)
    city, _, country = origin.rpartition(", ")
    if not city:
        city, country = origin, origin
    since = int(row.active_since)
    pools = {"genre": row.genre, "A": str(row.name), "city": city, "country": country,
             "dem": demonym(country), "year": str(since),
             "decade": _DECADES.get(since // 10 * 10, "the old days")}
    # each artist leans on its own favourite part of the genre's vocabulary (Dirichlet weights)
    for key in ("adj", "scene", "era", "inst", "mood"):
        words = vocab[key]
        pools[key] = _Pick(words, rng.dirichlet(np.full(len(words), 0.6)))
    n_sig_adj, n_sig_np = (1, 1) if rng.random() < 0.4 else ((2, 1) if rng.random() < 0.5 else (1, 2))
    if rng.random() < 0.25:
        n_sig_adj, n_sig_np = 2, 2
    sig_adj = [SIGNATURE_ADJECTIVES[i] for i in rng.choice(len(SIGNATURE_ADJECTIVES), n_sig_adj, replace=False)]
    sig_np = [SIGNATURE_PHRASES[i] for i in rng.choice(len(SIGNATURE_PHRASES), n_sig_np, replace=False)]
    pools["sadj"], pools["snp"] = _Uniform(sig_adj), _Uniform(sig_np)
    pools["signature"] = sig_adj + sig_np
    pools["S"] = _Uniform(similar_names) if similar_names else None
    pools["titles"] = titles
    return pools


def _fill(template, groups, pools, py: random.Random, fixed: dict) -> str:
    values = dict(fixed)
    for base, fields in groups.items():
        if all(f in values for f in fields):
            continue
        pool = pools[base] if base in pools else _GENERIC[base]
        if isinstance(pool, str):
            values[base] = pool
            continue
        for f, w in zip(fields, pool.sample(py, len(fields))):
            values[f] = w
    return template.format_map(values)


def _usable(groups, pools, fixed) -> bool:
    if "S" in groups and pools["S"] is None:
        return False
    if "S" in groups and len(groups["S"]) > len(pools["S"].items):
        return False
    if "T" in groups and "T" not in fixed:
        return False
    return True


def _htmlify(sentences: list[str], name: str, py: random.Random) -> str:
    """Crawled-blog markup: paragraphs, a bold artist name, escaped ampersands."""
    paragraphs, cur = [], []
    for s in sentences:
        cur.append(s)
        if len(cur) >= 2 and py.random() < 0.5:
            paragraphs.append(" ".join(cur))
            cur = []
    if cur:
        paragraphs.append(" ".join(cur))
    text = "".join(f"<p>{p}</p>" for p in paragraphs)
    text = text.replace(name, f"<b>{name}</b>", 1)
    if py.random() < 0.6:
        text = text.replace(" and ", " &amp; ", 1)
    if py.random() < 0.3:
        text += '<p><a href="https://example.com/listen">Listen here</a><br/></p>'
    return text


def _document(kind: str, pools: dict, track_title: str | None, py: random.Random) -> str:
    fixed = {}
    if track_title is not None:
        fixed["T"] = f"{track_title}"
    titles = pools["titles"]
    lo, hi = _NSENT[kind]
    n = py.randint(lo, hi)
    if py.random() < 0.12:
        n = 1
    plan: list = [py.choice(_C_OPEN[(kind, track_title is not None)])]
    rest = []
    if py.random() < 0.85:
        rest.append(py.choice(_C_SIG))
    if pools["S"] is not None and py.random() < 0.7:
        rest.append(py.choice(_C_SIM))
    if track_title is not None:
        rest.extend(py.sample(_C_TRACK, min(2, len(_C_TRACK))))
    elif titles and py.random() < 0.5:
        rest.append(py.choice(_C_SONGS))
    if py.random() < 0.35:
        rest.append(py.choice(_C_HIST))
    py.shuffle(rest)
    body = py.sample(_C_BODY, 6)
    plan += (rest + body)[: max(n - 1, 0)]
    if n > 2 and py.random() < 0.4:
        plan.append(py.choice(_C_CLOSE[kind]))
    sentences = []
    for template, groups in plan:
        f = fixed
        if "T" in groups and "T" not in fixed:
            if not titles:
                continue
            picked = titles[py.randrange(len(titles))] if len(titles) == 1 else py.sample(titles, 2)
            if isinstance(picked, str):
                if len(groups["T"]) > 1:
                    continue
                f = {"T": picked}
            else:
                f = {"T": picked[0], "T2": picked[1]}
        if not _usable(groups, pools, f):
            continue
        s = _fill(template, groups, pools, py, f)
        sentences.append(s[0].upper() + s[1:])
    if kind == "blog" and py.random() < 0.25:
        text = _htmlify(sentences, pools["A"], py)
    else:
        text = " ".join(sentences)
    return _ARTICLE.sub(r"\1n ", text)


def write_documents(artists: pd.DataFrame, tracks: pd.DataFrame, similar_artists: dict,
                    n_docs: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """Write the world's web text: blog posts, reviews and news about artists and songs.

    Parameters
    ----------
    artists : pandas.DataFrame
        ``artist_id, name, genre, origin ("City, Country"), active_since (year)``.
    tracks : pandas.DataFrame
        ``track_id, artist_id, title`` (other columns are ignored).
    similar_artists : dict
        ``artist_id -> list of artist ids`` the artist truly resembles; the text
        mentions them alongside it. Ids not in ``artists`` are ignored.
    n_docs : numpy.ndarray of int
        Number of documents to write about the artist in each row of
        ``artists`` (0 = nobody writes about it).
    rng : numpy.random.Generator
        The only source of randomness: the same state gives the same text.

    Returns
    -------
    documents : pandas.DataFrame
        ``doc_id`` (int64, 0..n-1), ``artist_id`` (int64), ``track_id`` (nullable
        ``Int64``; ``<NA>`` when the document is about the artist in general),
        ``kind`` ("blog", "review" or "news"), ``text``. Documents come in the
        order of ``artists``' rows.

    Raises
    ------
    ValueError
        If a column is missing, ``n_docs`` does not have one non-negative whole
        number per artist, or an artist's genre has no vocabulary.

    Examples
    --------
    >>> artists = pd.DataFrame({"artist_id": [1], "name": ["ABBA"], "genre": ["pop"],
    ...                         "origin": ["Stockholm, Sweden"], "active_since": [1972]})
    >>> tracks = pd.DataFrame({"track_id": [1], "artist_id": [1], "title": ["Dancing Queen"]})
    >>> docs = write_documents(artists, tracks, {1: []}, np.array([3]), np.random.default_rng(0))
    >>> len(docs), list(docs.columns)
    (3, ['doc_id', 'artist_id', 'track_id', 'kind', 'text'])
    """
    n_docs = _check(artists, tracks, similar_artists, n_docs)
    py = random.Random(int(rng.integers(0, 2**63 - 1)))
    name_of = dict(zip(artists["artist_id"].astype(np.int64).tolist(), artists["name"].astype(str).tolist()))
    track_ids = tracks["track_id"].to_numpy(np.int64)
    track_titles = tracks["title"].astype(str).to_numpy()
    by_artist: dict[int, np.ndarray] = {}
    if len(tracks):
        order = np.argsort(tracks["artist_id"].to_numpy(np.int64), kind="stable")
        a_sorted = tracks["artist_id"].to_numpy(np.int64)[order]
        starts = np.flatnonzero(np.r_[True, a_sorted[1:] != a_sorted[:-1]])
        for s, e in zip(starts, np.r_[starts[1:], len(order)]):
            by_artist[int(a_sorted[s])] = order[s:e]

    out_artist, out_track, out_kind, out_text = [], [], [], []
    for row, k in zip(artists.itertuples(index=False), n_docs.tolist()):
        aid = int(row.artist_id)
        rows = by_artist.get(aid, np.empty(0, dtype=np.int64))
        titles = [track_titles[i] for i in rows]
        sims = [name_of[s] for s in similar_artists.get(aid, []) if int(s) in name_of and int(s) != aid]
        # the profile is drawn for every artist, written about or not, so that one artist's
        # document count does not change another artist's signature words
        pools = _artist_profile(row, titles, sims, rng)
        for _ in range(k):
            about_track = bool(titles) and py.random() < 0.45
            if about_track:
                kind = py.choices(("review", "blog", "news"), cum_weights=(0.55, 0.88, 1.0))[0]
                j = py.randrange(len(rows))
                track_id, title = int(track_ids[rows[j]]), titles[j]
            else:
                kind = py.choices(("blog", "news", "review"), cum_weights=(0.45, 0.75, 1.0))[0]
                track_id, title = None, None
            out_artist.append(aid)
            out_track.append(track_id)
            out_kind.append(kind)
            out_text.append(_document(kind, pools, title, py))
    n = len(out_text)
    return pd.DataFrame({
        "doc_id": np.arange(n, dtype=np.int64),
        "artist_id": np.asarray(out_artist, dtype=np.int64),
        "track_id": pd.array(out_track, dtype="Int64"),
        "kind": pd.Series(out_kind, dtype=object).astype(str),
        "text": pd.Series(out_text, dtype=object).astype(str),
    })
