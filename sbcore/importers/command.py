"""``sbcore import-support-board``: the command line around ``Importer``."""

import csv
import os
import sys

from tqdm import tqdm

from .. import db as dbmod
from .files import FileSource
from .source import Source, SourceError
from .support_board import BATCH, Importer


def write_id_map(rows, path):
    """The ids that changed, as CSV: kind, source_id, target_id. Answers how many."""
    changed = [row for row in rows if str(row[1]) != str(row[2])]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["kind", "source_id", "target_id"])
        writer.writerows(changed)
    return len(changed)


def run_command(core, args):
    """``sbcore import-support-board``: the command line around ``Importer``."""
    if not args.dry_run:
        core.init(report=lambda line: print(line, file=sys.stderr))
    try:
        source = Source(args.url, prefix=args.prefix)
    except SourceError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    files = FileSource(core.config, args.uploads) if args.uploads else None
    if files is not None and not files.remote and not os.path.isdir(args.uploads):
        print(f"error: the uploads folder {args.uploads} does not exist", file=sys.stderr)
        return 1

    def progress(table, total):
        return tqdm(total=total, desc=table, unit="rows", file=sys.stderr, leave=True)
    importer = Importer(core, source, files=files, dry_run=args.dry_run, batch=args.batch,
                        progress=progress)
    try:
        report = importer.run()
    finally:
        source.close()
        if files is not None:
            files.close()
    for line in report.lines(args.dry_run):
        print(line)
    if args.dry_run:
        print("dry run: nothing was changed")
        return 0
    with dbmod.connection():
        rows = importer.id_map_rows()
    path = args.id_map or os.path.join(core.config.data_dir, "support-board-id-map.csv")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    changed = write_id_map(rows, path)
    mode = "kept" if importer.state["mode"] == "keep" else "mapped"
    print(f"ids {mode}; {changed} ids changed, written to {os.path.abspath(path)}")
    return 0


def configure_parser(parser):
    parser.add_argument("url", help="the Support Board database: mysql://user:password@host:3306/database")
    parser.add_argument("--uploads", default=None,
                        help="the old install's uploads folder, or its base URL (https://…/uploads)")
    parser.add_argument("--dry-run", action="store_true", help="print the counts and change nothing")
    parser.add_argument("--prefix", default="sb_", help="the tables' prefix (default sb_)")
    parser.add_argument("--batch", type=int, default=BATCH, help="rows per transaction")
    parser.add_argument("--id-map", default=None,
                        help="where to write the changed ids as CSV (default <data dir>/support-board-id-map.csv)")
