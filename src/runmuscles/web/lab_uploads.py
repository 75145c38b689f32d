"""Uploaded lab sessions: which file is which, checked before any reader or OpenSim sees them.

A lab session is a C3D alone; markers (C3D or TRC) with a static trial and forces; OpenSim
files (a model ``.osim``, joint angles ``.mot``, an ExternalLoads ``.xml`` and its data
``.mot``); or a zip of these. The files arrive as watch files do (streamed, capped, stored
under generated names: :func:`runmuscles.web.uploads.receive_upload`), then here:

* **content** against the suffix (:func:`check_lab_content`): a C3D's parameter-section
  key (byte 2 is 0x50, C3D.org, "The C3D File Format User Guide", 2008), a TRC's
  ``PathFileType`` first line, a ``.mot``/``.sto`` header ending in ``endheader``, an XML
  document whose root is ``OpenSimDocument`` (parsed with :mod:`defusedxml`; a document type
  declaration is refused, so no entity can expand or read another file);
* **file references** inside the XML (ExternalLoads ``datafile``, ``.osim`` ``mesh_file``,
  setup files' ``*_file``): each must be a plain file name (no folder, no ``..``, not
  absolute). A data file must be one of the upload's own files and the reference is
  rewritten to its stored name; a mesh name stays as it is (OpenSim looks for it in the
  model's folder and its own geometry folder only, and needs it for drawing alone);
* **roles** (:func:`assign_roles`): the trial, its static trial (the form's static field,
  else a marker file named ``*static*``), the model, the forces.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .uploads import (
    MB,
    StoredFile,
    UploadRefused,
    _client_name,
    _copy_capped,
    _suffix,
    open_checked_zip,
)

__all__ = [
    "LAB_SIZE_CAP_BYTES",
    "LabSession",
    "assign_roles",
    "check_lab_content",
    "content_names",
    "extract_lab_zip",
]

#: Largest accepted file per suffix: C3D and zip as issue 16 suggests; text tables of a whole
#: session (markers at 200 Hz for minutes) stay well under 500 MB; XML files are small.
LAB_SIZE_CAP_BYTES = {
    ".c3d": 500 * MB,
    ".trc": 500 * MB,
    ".mot": 500 * MB,
    ".sto": 500 * MB,
    ".osim": 50 * MB,
    ".xml": 10 * MB,
    ".zip": 1024 * MB,
}
LAB_WHAT = "C3D, TRC, .mot/.sto, .osim, ExternalLoads .xml, or a zip of them"
MARKER_SUFFIXES = (".c3d", ".trc")
TABLE_SUFFIXES = (".mot", ".sto")
XML_SUFFIXES = (".osim", ".xml")
#: Elements that name a file in OpenSim documents (models, ExternalLoads, tool setups).
_FILE_TAGS = re.compile(r"^(datafile|mesh_file|.*_file|.*_files|file)$")
#: Values OpenSim uses for "no file".
_NO_FILE = {"", "unassigned", "none"}
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class LabSession:
    """An upload's files by role (stored files; ``None`` where the session has none)."""

    trial: StoredFile
    static: StoredFile | None = None
    model: StoredFile | None = None
    forces: StoredFile | None = None

    def roles(self) -> dict[str, str]:
        """Role -> the user's file name (for display)."""
        return {k: f.name for k, f in vars(self).items() if f is not None}


def content_names(session: LabSession) -> LabSession:
    """The session with its trial, static trial and model renamed ``<role>-<sha256 of the content>``.

    Still generated names (never the client's), but the same file gets the same name: the
    models made from it (the scaled model is named after the static trial or the trial) and
    their cached muscle geometry (:mod:`runmuscles.model.geometry`, named after the model file)
    are found again when the same session is uploaded again. The forces keep their names (the
    ExternalLoads file names its data by them).
    """
    import hashlib  # noqa: PLC0415
    from dataclasses import replace  # noqa: PLC0415

    renamed = {}
    for role in ("trial", "static", "model"):
        f = getattr(session, role)
        if f is None:
            continue
        h = hashlib.sha256()
        with f.path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                h.update(chunk)
        target = f.path.with_name(f"{role}-{h.hexdigest()[:32]}{f.suffix}")
        f.path.rename(target)
        renamed[role] = replace(f, path=target)
    return replace(session, **renamed)


def check_lab_content(f: StoredFile) -> None:
    """Refuse a stored lab file whose content does not match its suffix (see the module's notes)."""
    with f.path.open("rb") as fh:
        head = fh.read(65536)
    if f.suffix == ".c3d":
        if len(head) < 512 or head[1] != 0x50:
            raise UploadRefused(f.name, "named .c3d but its content is not a C3D file")
    elif f.suffix == ".trc":
        if not head.lstrip(b"\xef\xbb\xbf").startswith(b"PathFileType"):
            raise UploadRefused(f.name, "named .trc but its content is not a TRC marker file")
    elif f.suffix in TABLE_SUFFIXES:
        if b"\0" in head or b"endheader" not in head.lower():
            raise UploadRefused(f.name, f"named {f.suffix} but its content is not an OpenSim table")
    elif f.suffix in XML_SUFFIXES:
        root = _xml_tree(f).getroot().tag
        if root != "OpenSimDocument":
            raise UploadRefused(f.name, f"named {f.suffix} but it is not an OpenSim document (root '{root}')")
    elif f.suffix == ".zip":
        if head[:4] not in (b"PK\x03\x04", b"PK\x05\x06"):
            raise UploadRefused(f.name, "named .zip but its content is not a zip archive")
    else:
        raise UploadRefused(f.name, f"not a file the app reads ({LAB_WHAT})")


def _xml_tree(f: StoredFile):
    from xml.etree.ElementTree import ParseError  # noqa: PLC0415

    from defusedxml import DefusedXmlException  # noqa: PLC0415
    from defusedxml.ElementTree import parse  # noqa: PLC0415

    try:
        return parse(str(f.path), forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise UploadRefused(
            f.name,
            "declares a document type or entities, which OpenSim files never need; refused "
            "(it could expand without bound or read other files)",
        ) from None
    except ParseError:
        raise UploadRefused(f.name, f"named {f.suffix} but its content is not an XML document") from None


def _plain_name(owner: StoredFile, tag: str, value: str) -> str:
    """``value`` when it names a file beside ``owner`` (no folder, not absolute, no ``..``)."""
    v = value.strip()
    parts = PurePosixPath(v.replace("\\", "/")).parts
    if v.startswith(("/", "\\")) or _DRIVE.match(v) or ".." in parts or len(parts) != 1 or "\0" in v:
        raise UploadRefused(
            owner.name,
            f"its <{tag}> names a file outside the upload ({_client_name(v)}); file references must "
            "name a file uploaded with it, without a folder",
        )
    return v


def resolve_references(f: StoredFile, files: list[StoredFile]) -> list[StoredFile]:
    """Check (and rewrite) the file references of one uploaded OpenSim document.

    Returns the uploaded files it refers to (an ExternalLoads' data file). Data references are
    rewritten to the stored names; see the module's notes.
    """
    tree = _xml_tree(f)
    by_name = {g.name.lower(): g for g in files if g is not f}
    used: list[StoredFile] = []
    changed = False
    for el in tree.iter():
        tag = el.tag if isinstance(el.tag, str) else ""
        if not _FILE_TAGS.match(tag) or el.text is None or el.text.strip().lower() in _NO_FILE:
            continue
        for value in el.text.split():
            _plain_name(f, tag, value)
        if tag == "mesh_file":
            continue  # geometry for drawing: looked up in the model's folder only
        names = el.text.split()
        targets = []
        for value in names:
            target = by_name.get(value.lower())
            if target is None:
                raise UploadRefused(
                    f.name, f"its <{tag}> names {_client_name(value)}, which is not in the upload; add it"
                )
            targets.append(target)
        el.text = " ".join(t.path.name for t in targets)
        used += targets
        changed = True
    if changed:
        tree.write(str(f.path), encoding="utf-8", xml_declaration=True)
    return used


def extract_lab_zip(f: StoredFile, folder: Path) -> tuple[list[StoredFile], list[str]]:
    """The lab files of a stored zip, checked as :func:`runmuscles.web.uploads.extract_zip` checks
    activity zips (entries escaping the folder, links, compression ratio, size), stored under new ids.

    Returns the extracted files and the names of entries that are not lab files.
    """
    zf = open_checked_zip(f, LAB_SIZE_CAP_BYTES[".zip"])
    out: list[StoredFile] = []
    skipped: list[str] = []
    with zf:
        infos = zf.infolist()
        for info in infos:
            if info.is_dir():
                continue
            name = _client_name(info.filename)
            suffix = _suffix(name)
            if suffix not in LAB_SIZE_CAP_BYTES or suffix == ".zip" or name.startswith("."):
                skipped.append(name)
                continue
            file_id = uuid.uuid4().hex
            path = folder / f"{file_id}{suffix}"
            size = _copy_capped(zf, info, path, min(LAB_SIZE_CAP_BYTES[suffix], info.file_size), f.name)
            item = StoredFile(file_id, name, suffix, path, size, "files")
            check_lab_content(item)
            out.append(item)
    return out, skipped


def _table_has_forces(f: StoredFile) -> bool:
    """Whether an OpenSim table's column names are ground reaction forces (``..._vx``, ``..._px``)."""
    with f.path.open("rb") as fh:
        head = fh.read(65536).decode("utf-8", "replace")
    lines = head.splitlines()
    for k, line in enumerate(lines):
        if line.strip().lower() == "endheader" and k + 1 < len(lines):
            cols = lines[k + 1].lower().split()
            return any(c.endswith(("_vx", "_px", "_fx")) or "force" in c for c in cols[1:])
    return False


def assign_roles(files: list[StoredFile]) -> LabSession:
    """Which uploaded file is the trial, the static trial, the model and the forces.

    Files from the form's ``static`` input are the static trial; else a marker file whose name
    contains "static". An ExternalLoads ``.xml`` is the forces (its data files were checked by
    :func:`resolve_references`); else an OpenSim table of forces beside a marker trial or
    joint angles. Raises :class:`UploadRefused` naming what is missing or doubled.
    """
    statics = [f for f in files if f.field == "static"]
    if not statics:
        statics = [f for f in files if f.suffix in MARKER_SUFFIXES and "static" in f.name.lower()]
    if len(statics) > 1:
        raise UploadRefused(statics[1].name, "a second static trial; upload one")
    if statics and statics[0].suffix not in MARKER_SUFFIXES:
        raise UploadRefused(statics[0].name, "a static trial is a C3D or TRC marker file")
    static = statics[0] if statics else None
    rest = [f for f in files if f is not static]
    models = [f for f in rest if f.suffix == ".osim"]
    loads = [f for f in rest if f.suffix == ".xml"]
    for many, what in ((models, "model (.osim)"), (loads, "ExternalLoads file (.xml)")):
        if len(many) > 1:
            raise UploadRefused(many[1].name, f"a second {what}; upload one per session")
    data = {id(g) for x in loads for g in resolve_references(x, files)}
    for m in models:
        resolve_references(m, files)
    markers = [f for f in rest if f.suffix in MARKER_SUFFIXES]
    tables = [f for f in rest if f.suffix in TABLE_SUFFIXES and id(f) not in data]
    force_tables = [t for t in tables if _table_has_forces(t)]
    angle_tables = [t for t in tables if t not in force_tables]
    if len(markers) > 1:
        raise UploadRefused(
            markers[1].name,
            "a second marker trial; upload one trial per session (name the static trial '...static...' "
            "or choose it in the static field)",
        )
    if markers:
        trial = markers[0]
        if angle_tables:
            raise UploadRefused(
                angle_tables[0].name, "joint angles beside a marker trial: upload one of them"
            )
    elif len(angle_tables) == 1:
        trial = angle_tables[0]
    elif angle_tables:
        raise UploadRefused(angle_tables[1].name, "a second joint-angle table; upload one trial per session")
    else:
        raise UploadRefused(
            "upload", f"no trial: add a C3D or TRC marker file, or joint angles (.mot) ({LAB_WHAT})"
        )
    if loads:
        forces = loads[0]
        if force_tables:
            raise UploadRefused(
                force_tables[0].name, "a force table that the ExternalLoads file does not name"
            )
    elif len(force_tables) == 1:
        forces = force_tables[0]
    elif force_tables:
        raise UploadRefused(force_tables[1].name, "a second force table; upload one per session")
    else:
        forces = None
    return LabSession(trial=trial, static=static, model=models[0] if models else None, forces=forces)
