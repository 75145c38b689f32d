"""Parsed .osim documents shared within a process (runmuscles.model.osim_xml.parsed_xml)."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET

import pytest

from runmuscles.errors import InputError
from runmuscles.model.osim_xml import parsed_xml, read_osim_root

_DOC = '<OpenSimDocument Version="40000"><Model name="{name}"><BodySet/></Model></OpenSimDocument>'


def test_unchanged_file_is_parsed_once_and_a_rewritten_one_again(tmp_path) -> None:
    p = tmp_path / "m.osim"
    p.write_text(_DOC.format(name="first"))
    root = parsed_xml(p)
    assert parsed_xml(p) is root
    model, version = read_osim_root(p)
    assert model.get("name") == "first" and version == 40000
    assert read_osim_root(tmp_path / ".." / tmp_path.name / "m.osim")[0] is model  # same file
    # rewritten in place with the same size: the new modification time makes it another file
    st = p.stat()
    p.write_text(_DOC.format(name="other"))
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    assert read_osim_root(p)[0].get("name") == "other"


def test_errors_are_not_kept(tmp_path) -> None:
    p = tmp_path / "bad.osim"
    p.write_text("<OpenSimDocument")
    with pytest.raises(InputError, match="not valid XML"):
        read_osim_root(p)
    with pytest.raises(ET.ParseError):
        parsed_xml(p)
    p.write_text(_DOC.format(name="fixed"))
    assert read_osim_root(p)[0].get("name") == "fixed"
    with pytest.raises(InputError, match="not found"):
        read_osim_root(tmp_path / "missing.osim")
