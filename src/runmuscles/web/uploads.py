"""Uploaded files: received while streaming, checked, and stored under generated names.

Every upload is written to ``<data dir>/uploads/<batch id>/<file id><suffix>`` as it arrives,
never under the client's name (the name is kept in the batch's ``manifest.json``, for display).
A file is refused, and its batch removed, when:

* its suffix is not one the app reads (``.fit``, ``.gpx``, ``.tcx``, each also gzipped as in
  Strava's and Garmin's bulk exports, ``.zip``);
* it grows past its type's size cap (:data:`SIZE_CAP_BYTES`) while streaming: the rest of the
  request is not stored;
* its content is not what its suffix says (magic bytes: the FIT header's ``.FIT`` signature
  at byte 8, an XML document whose root is ``gpx`` or ``TrainingCenterDatabase``, a zip's
  local-file header);
* it is XML with a document type declaration: activity files never need one, and refusing
  it refuses entity expansion ("billion laughs") and external entities before any parser
  of the library reads the file (parsed with :mod:`defusedxml`);
* it is a zip with an entry that escapes its folder (absolute, ``..``, a drive letter), a
  symbolic link, an entry compressed more than :data:`MAX_ZIP_RATIO` times, more than
  :data:`MAX_ZIP_ENTRIES` entries, or more than the zip cap uncompressed in all. The ratio
  100 and the caps are the issue's suggested values (issue 16); zip bombs reach ratios of
  thousands to millions (Fifield D 2019, "A better zip bomb", USENIX WOOT).
"""

from __future__ import annotations

import json
import re
import shutil
import stat
import uuid
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from ..history import ACTIVITY_SUFFIXES

__all__ = [
    "MAX_FILES_PER_UPLOAD",
    "MAX_ZIP_ENTRIES",
    "MAX_ZIP_RATIO",
    "SIZE_CAP_BYTES",
    "StoredFile",
    "UploadRefused",
    "UploadStore",
    "check_content",
    "extract_zip",
    "gunzip",
    "receive_upload",
]

MB = 1 << 20
#: Largest accepted file per suffix (issue 16's suggested caps).
SIZE_CAP_BYTES = {".fit": 50 * MB, ".gpx": 50 * MB, ".tcx": 50 * MB, ".zip": 1024 * MB}
#: Gzipped activity files (``.fit.gz``): the cap applies to the file after decompression.
GZ_SUFFIXES = tuple(s + ".gz" for s in ACTIVITY_SUFFIXES)
MAX_ZIP_RATIO = 100.0
MAX_ZIP_ENTRIES = 20_000
MAX_FILES_PER_UPLOAD = 500
#: Largest form field that is not a file (bytes).
MAX_FIELD_BYTES = 4096
XML_ROOTS = {".gpx": "gpx", ".tcx": "TrainingCenterDatabase"}
_DRIVE = re.compile(r"^[A-Za-z]:")


class UploadRefused(Exception):
    """An upload that is not stored: the file's name as the user gave it, and why."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name}: {problem}")
        self.name, self.problem = name, problem


@dataclass(frozen=True)
class StoredFile:
    """One stored upload (or one activity taken out of an uploaded zip)."""

    file_id: str
    name: str  # the client's name, for display only
    suffix: str
    path: Path
    size_bytes: int
    field: str = ""  # the form's file input it came from (a lab session's trial or static)


def _client_name(raw: str) -> str:
    """The last part of a client's file name (display only; never used as a path)."""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1].strip()
    name = "".join(ch for ch in name if ch.isprintable())
    return name[:200] or "unnamed"


def _suffix(name: str) -> str:
    """``.fit``, ``.fit.gz``, ``.zip``, ... of a file name (lower case)."""
    p = PurePosixPath(name.lower())
    return "".join(p.suffixes[-2:]) if p.suffix == ".gz" and len(p.suffixes) >= 2 else p.suffix


def _cap(suffix: str) -> int:
    return SIZE_CAP_BYTES.get(suffix.removesuffix(".gz"), 0)


async def receive_upload(
    request,
    folder: Path,
    field: str | tuple[str, ...] = "files",
    *,
    caps: dict[str, int] | None = None,
    what: str = "FIT, GPX, TCX, or a zip of them",
    fields_out: dict[str, str] | None = None,
) -> list[StoredFile]:
    """Stream a multipart/form-data request's files into ``folder``, each checked while it arrives.

    ``field``: the file inputs read; ``caps``: accepted suffixes and their size caps (default:
    :data:`SIZE_CAP_BYTES` and the gzipped activity files), ``what`` names them in a refusal;
    ``fields_out``, when given, receives the form's other (short) fields.

    Raises :class:`UploadRefused` (after removing what was written) for a refused file; the
    files' contents are checked afterwards by :func:`check_content`.
    """
    from python_multipart.multipart import MultipartParser, parse_options_header  # noqa: PLC0415

    fields = (field,) if isinstance(field, str) else field
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary:
        raise UploadRefused("upload", "the form did not send files (multipart/form-data expected)")
    folder.mkdir(parents=True, exist_ok=True)
    stored: list[StoredFile] = []
    part: dict[str, Any] = {}

    def on_part_begin() -> None:
        part.clear()
        part.update(headers={}, field=b"", value=b"", fh=None, size=0)

    def on_header_field(data: bytes, start: int, end: int) -> None:
        part["field"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        part["value"] += data[start:end]

    def on_header_end() -> None:
        part["headers"][part["field"].decode("latin-1").lower()] = part["value"]
        part["field"], part["value"] = b"", b""

    def on_headers_finished() -> None:
        _, disp = parse_options_header(part["headers"].get("content-disposition", b""))
        raw_name = disp.get(b"filename")
        part["input"] = disp.get(b"name", b"").decode("latin-1")
        part["is_file"] = raw_name is not None and part["input"] in fields
        if not part["is_file"]:
            return
        if not raw_name.strip():  # a file input left empty
            part["is_file"] = False
            return
        name = _client_name(raw_name.decode("utf-8", "replace"))
        suffix = _suffix(name)
        if (
            (suffix not in caps)
            if caps is not None
            else (suffix not in SIZE_CAP_BYTES and suffix not in GZ_SUFFIXES)
        ):
            raise UploadRefused(name, f"not a file the app reads ({what})")
        if len(stored) >= MAX_FILES_PER_UPLOAD:
            raise UploadRefused(name, f"more than {MAX_FILES_PER_UPLOAD} files in one upload")
        file_id = uuid.uuid4().hex
        path = folder / f"{file_id}{suffix}"
        part.update(name=name, suffix=suffix, file_id=file_id, path=path, fh=path.open("wb"))

    def on_part_data(data: bytes, start: int, end: int) -> None:
        n = end - start
        part["size"] += n
        if not part.get("is_file"):
            if part["size"] > MAX_FIELD_BYTES:
                raise UploadRefused("upload", "a form field is too long")
            part["text"] = part.get("text", b"") + data[start:end]
            return
        cap = caps[part["suffix"]] if caps is not None else _cap(part["suffix"])
        if part["size"] > cap:
            raise UploadRefused(
                part["name"], f"larger than the {cap // MB} MB accepted for {part['suffix']} files"
            )
        part["fh"].write(data[start:end])

    def on_part_end() -> None:
        if fields_out is not None and not part.get("is_file") and part.get("input"):
            fields_out[part["input"]] = part.get("text", b"").decode("utf-8", "replace")
        if part.get("fh") is not None:
            part["fh"].close()
            part["fh"] = None
            stored.append(
                StoredFile(
                    part["file_id"], part["name"], part["suffix"], part["path"], part["size"], part["input"]
                )
            )

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
        },
    )
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except UploadRefused:
        _discard(part, folder)
        raise
    except Exception as exc:  # a malformed body (python-multipart's errors)
        _discard(part, folder)
        raise UploadRefused("upload", "the form's data could not be read (a broken upload?)") from exc
    if not stored:
        shutil.rmtree(folder, ignore_errors=True)
        raise UploadRefused("upload", "no file was chosen")
    return stored


def _discard(part: dict[str, Any], folder: Path) -> None:
    if part.get("fh") is not None:
        part["fh"].close()
    shutil.rmtree(folder, ignore_errors=True)


def check_content(f: StoredFile) -> None:
    """Refuse a stored file whose content does not match its suffix (see the module's notes)."""
    if f.suffix in GZ_SUFFIXES:
        raise UploadRefused(f.name, "a gzipped file is checked after decompression (gunzip)")
    with f.path.open("rb") as fh:
        head = fh.read(64)
    if f.suffix == ".fit":
        if len(head) < 12 or head[0] not in (12, 14) or head[8:12] != b".FIT":
            raise UploadRefused(f.name, "named .fit but its content is not a FIT file")
    elif f.suffix == ".zip":
        if head[:4] not in (b"PK\x03\x04", b"PK\x05\x06"):
            raise UploadRefused(f.name, "named .zip but its content is not a zip archive")
    elif f.suffix in XML_ROOTS:
        root = _xml_root(f)
        if root != XML_ROOTS[f.suffix]:
            what = f"an XML document with root '{root}'" if root else "not an XML document"
            raise UploadRefused(f.name, f"named {f.suffix} but its content is {what}")
    else:  # pragma: no cover - receive_upload refuses other suffixes
        raise UploadRefused(f.name, "not a file the app reads")


def _xml_root(f: StoredFile) -> str | None:
    """Local name of the document's root element; refuses any DTD (entities) first."""
    from xml.etree.ElementTree import ParseError  # noqa: PLC0415

    from defusedxml import DefusedXmlException  # noqa: PLC0415
    from defusedxml.ElementTree import iterparse  # noqa: PLC0415

    try:
        for _event, elem in iterparse(
            str(f.path), events=("start",), forbid_dtd=True, forbid_entities=True, forbid_external=True
        ):
            return elem.tag.rsplit("}", 1)[-1]
    except DefusedXmlException:
        raise UploadRefused(
            f.name,
            "declares a document type or entities, which activity files never need; refused "
            "(it could expand without bound or read other files)",
        ) from None
    except ParseError:
        return None
    return None


def gunzip(f: StoredFile, folder: Path) -> StoredFile:
    """The activity inside a stored ``.fit.gz`` (``.gpx.gz``, ``.tcx.gz``), decompressed under a
    new id with its type's cap and the ratio limit, then checked like any upload."""
    import gzip  # noqa: PLC0415
    import zlib  # noqa: PLC0415

    inner = f.suffix.removesuffix(".gz")
    limit = min(SIZE_CAP_BYTES[inner], int(MAX_ZIP_RATIO * max(f.size_bytes, 1)))
    file_id = uuid.uuid4().hex
    path = folder / f"{file_id}{inner}"
    n = 0
    try:
        with gzip.open(f.path, "rb") as src, path.open("wb") as dst:
            while chunk := src.read(1 << 20):
                n += len(chunk)
                if n > limit:
                    why = (
                        f"decompresses to more than {SIZE_CAP_BYTES[inner] // MB} MB"
                        if limit == SIZE_CAP_BYTES[inner]
                        else f"is compressed more than {MAX_ZIP_RATIO:g} times: a zip bomb is refused"
                    )
                    raise UploadRefused(f.name, why)
                dst.write(chunk)
    except (OSError, EOFError, zlib.error):
        path.unlink(missing_ok=True)
        raise UploadRefused(f.name, "is not a readable gzip file") from None
    except UploadRefused:
        path.unlink(missing_ok=True)
        raise
    item = StoredFile(file_id, f.name.removesuffix(".gz").removesuffix(".GZ"), inner, path, n)
    check_content(item)
    return item


def extract_zip(f: StoredFile, folder: Path) -> tuple[list[StoredFile], list[str]]:
    """The activity files of a stored zip, checked entry by entry and stored under new ids.

    Returns
    -------
    (files, skipped)
        The extracted activities (each passed :func:`check_content`), and the names of
        entries that are not activity files.
    """
    zf = open_checked_zip(f, SIZE_CAP_BYTES[".zip"])
    with zf:
        infos = zf.infolist()
        out: list[StoredFile] = []
        skipped: list[str] = []
        folder.mkdir(parents=True, exist_ok=True)
        for info in infos:
            if info.is_dir():
                continue
            name = _client_name(info.filename)
            suffix = _suffix(name)
            if suffix not in ACTIVITY_SUFFIXES and suffix not in GZ_SUFFIXES:
                skipped.append(name)
                continue
            file_id = uuid.uuid4().hex
            path = folder / f"{file_id}{suffix}"
            size = _copy_capped(zf, info, path, min(_cap(suffix), info.file_size), f.name)
            item = StoredFile(file_id, name, suffix, path, size)
            if suffix in GZ_SUFFIXES:
                packed, item = item, gunzip(item, folder)
                packed.path.unlink(missing_ok=True)
            else:
                check_content(item)
            out.append(item)
    return out, skipped


def open_checked_zip(f: StoredFile, cap: int) -> zipfile.ZipFile:
    """The stored zip ``f``, opened once every entry passed :func:`_check_entry` and the
    entries' total size and count are within ``cap`` bytes and :data:`MAX_ZIP_ENTRIES`
    (nothing is extracted yet). Raises :class:`UploadRefused`."""
    try:
        zf = zipfile.ZipFile(f.path)
    except (zipfile.BadZipFile, OSError):
        raise UploadRefused(f.name, "is not a readable zip archive") from None
    try:
        infos = zf.infolist()
        if len(infos) > MAX_ZIP_ENTRIES:
            raise UploadRefused(f.name, f"has more than {MAX_ZIP_ENTRIES} entries")
        total = 0
        for info in infos:
            _check_entry(f.name, info)
            total += info.file_size
            if total > cap:
                raise UploadRefused(f.name, f"holds more than {cap // MB} MB uncompressed")
    except UploadRefused:
        zf.close()
        raise
    return zf


def _check_entry(zip_name: str, info: zipfile.ZipInfo) -> None:
    name = info.filename.replace("\\", "/")
    parts = PurePosixPath(name).parts
    if name.startswith("/") or _DRIVE.match(name) or ".." in parts:
        raise UploadRefused(zip_name, f"has an entry that points outside its folder ({_client_name(name)})")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise UploadRefused(zip_name, f"has a symbolic link ({_client_name(name)}); refused")
    if info.file_size > 0 and info.file_size > MAX_ZIP_RATIO * max(info.compress_size, 1):
        raise UploadRefused(
            zip_name,
            f"has an entry compressed more than {MAX_ZIP_RATIO:g} times ({_client_name(name)}): "
            "a zip bomb is refused",
        )


def _copy_capped(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, cap: int, zip_name: str) -> int:
    """Copy one entry, stopping at ``cap`` bytes (its declared size is not trusted)."""
    n = 0
    with zf.open(info) as src, path.open("wb") as dst:
        while chunk := src.read(1 << 20):
            n += len(chunk)
            if n > cap:
                raise UploadRefused(zip_name, f"{_client_name(info.filename)} is larger than it declares")
            dst.write(chunk)
    return n


class UploadStore:
    """The uploads folder of a data directory: batches and their manifests."""

    def __init__(self, data_dir: Path) -> None:
        self.root = Path(data_dir) / "uploads"

    def new_batch(self) -> tuple[str, Path]:
        batch = uuid.uuid4().hex
        return batch, self.root / batch

    def write_manifest(self, folder: Path, files: list[StoredFile], results: dict[str, dict]) -> None:
        """The batch's files (paths relative to its folder) and, once imported, their outcome.

        Written whole to a temporary file and renamed, so a killed server leaves the old
        manifest or the new one, never half of one.
        """
        rows = [{**asdict(f), "path": f.path.name, **results.get(f.file_id, {})} for f in files]
        tmp = folder / "manifest.json.tmp"
        tmp.write_text(json.dumps(rows, indent=1, default=str))
        tmp.replace(folder / "manifest.json")

    def unfinished(self) -> list[tuple[Path, list[dict], list[StoredFile]]]:
        """Batches with activity files stored but not imported (a server stopped mid-import):
        (folder, the manifest's rows, the files to import)."""
        found = []
        if not self.root.is_dir():
            return found
        for m in sorted(self.root.glob("*/manifest.json")):
            try:
                rows = json.loads(m.read_text())
            except (OSError, ValueError):
                continue
            todo = [
                StoredFile(r["file_id"], r["name"], r["suffix"], m.parent / r["path"], int(r["size_bytes"]))
                for r in rows
                if r.get("suffix") in ACTIVITY_SUFFIXES
                and "status" not in r
                and (m.parent / r["path"]).is_file()
            ]
            if todo:
                found.append((m.parent, rows, todo))
        return found

    def record_results(self, folder: Path, rows: list[dict], results: dict[str, dict]) -> None:
        """Add import outcomes to a batch's manifest rows (atomically, as :meth:`write_manifest`)."""
        new = [{**r, **results.get(r["file_id"], {})} for r in rows]
        tmp = folder / "manifest.json.tmp"
        tmp.write_text(json.dumps(new, indent=1, default=str))
        tmp.replace(folder / "manifest.json")

    def names(self) -> dict[str, str]:
        """Stored path (as the history's ``source``) -> the client's file name."""
        found: dict[str, str] = {}
        if not self.root.is_dir():
            return found
        for m in self.root.glob("*/manifest.json"):
            try:
                rows = json.loads(m.read_text())
            except (OSError, ValueError):
                continue
            for r in rows:
                found[str(m.parent / r["path"])] = r["name"]
        return found
